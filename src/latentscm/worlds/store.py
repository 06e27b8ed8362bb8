"""Datasets written once, content-addressed, verified on load, memory-mapped.

``generate(world, n=None, seed=0)`` renders a world's full grid (``n=None``, discrete worlds) or
``n`` seeded samples into a directory named by a SHA-256 of (world name, options, n, seed,
library version, format version). Images are stored as uint8 (value = round(255 * pixel)), so
binary worlds are exact and the others are quantised to 1/255; they are appended chunk by chunk to
an ``.npy`` file so the full sprites grid never sits in RAM (through a file handle, not a memory map,
so that a full disk is an ``OSError`` naming the dataset, not a SIGBUS that kills the process).

Everything is written into a temporary directory and renamed into place at the end, so a crash
never leaves a half-written dataset under the final name. On load every file's size and
SHA-256 are checked against the manifest; a truncated, tampered or missing file triggers a
warning naming it and the dataset is regenerated — never used silently.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from latentscm._io import host_tag, orphaned
from latentscm._registry import class_path
from latentscm._validation import as_generator, check_number
from latentscm._version import __version__
from latentscm.exceptions import LatentSCMError
from latentscm.scm.mechanisms import Mechanism
from latentscm.worlds.batch import RENDER_SEED, Batch
from latentscm.worlds.regimes import Regime, RegimeMixture, as_mixture

if TYPE_CHECKING:  # pragma: no cover
    from latentscm.worlds.base import World

__all__ = ["StoredDataset", "CorruptDatasetError", "generate", "load", "cache_root", "dataset_key"]

#: 2: the samples no longer depend on the chunk size they were rendered in (1 rounded the regime
#: mixture and drew the noise chunk by chunk, so datasets over one chunk hold other samples)
FORMAT_VERSION = 2
_CHUNK = 4096
_HASH_BLOCK = 1 << 24


class CorruptDatasetError(LatentSCMError, RuntimeError):
    """A stored dataset failed verification; ``path`` names the offending file."""

    def __init__(self, path: Path, reason: str):
        self.path = Path(path)
        super().__init__(f"Stored dataset file {self.path} is corrupt: {reason}")


def cache_root(root: str | os.PathLike | None = None) -> Path:
    """Directory holding stored datasets: ``root``, else ``$LATENTSCM_CACHE``, else
    ``~/.cache/latentscm/worlds``."""
    if root is not None:
        return Path(root)
    env = os.environ.get("LATENTSCM_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "latentscm" / "worlds"


def _jsonable(value: Any, where: str) -> Any:
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value) if isinstance(value, (float, np.floating)) else int(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, where) for k, v in sorted(value.items())}
    raise TypeError(
        f"World option {where!r} ({type(value).__name__}) cannot be content-addressed; pass "
        "cache_key='...' to name this dataset yourself."
    )


def dataset_key(world: World, n: int | None, seed: int, cache_key: str | None = None,
                regime: Any = None) -> tuple[str, dict]:
    """The content address (hex SHA-256) and the identity it hashes (a regime mixture other than
    purely observational data is part of it). ``seed`` is a non-negative int: a generator's state
    cannot name a dataset."""
    message = (f"The 'seed' of a stored dataset must be a non-negative int (it is part of the content address; a "
               f"numpy Generator cannot be). Got {seed!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(message)
    if seed < 0:
        raise ValueError(message)
    if cache_key is None:
        # the world's real configuration: every constructor argument (World.get_params), so two
        # configurations of a world never share a key
        try:
            options = world.get_params()
        except TypeError as error:
            raise TypeError(f"{error} Or pass cache_key='...' to name this dataset yourself.") from None
        identity_options = {k: _jsonable(v, k) for k, v in sorted(options.items())}
    else:
        identity_options = {"cache_key": str(cache_key)}
    identity = {
        "world": world.name,
        "class": class_path(type(world)),
        "options": identity_options,
        "n": n,
        "seed": int(seed),
        "version": __version__,
        "format": FORMAT_VERSION,
    }
    mixture = as_mixture(regime)
    if not (len(mixture) == 1 and mixture.regimes[0].observational):
        identity["regimes"] = _describe_mixture(mixture, named=cache_key is not None)
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return digest, identity


def _describe_mixture(mixture: RegimeMixture, *, named: bool) -> dict:
    """The mixture's JSON description. A regime that replaces mechanisms (objects, not data) can be
    described only when the caller ``named`` the dataset with a ``cache_key``: by its name, its
    interventions and the factors whose mechanisms it replaces. Regimes of domains of a multi-domain
    world add ``"domains"``, the domain index of each regime (what ``Batch.domain`` reports)."""
    if not named:
        description = mixture.describe()  # raises, asking for a cache_key, when a regime replaces mechanisms
    else:
        regimes = []
        for regime in mixture.regimes:
            entry = Regime(regime.name, regime.interventions).describe()
            if regime.mechanisms:
                entry["mechanisms"] = sorted(regime.mechanisms)
            regimes.append(entry)
        description = {"regimes": regimes, "fractions": list(mixture.fractions)}
    domains = [int(getattr(regime, "domain", 0)) for regime in mixture.regimes]
    if any(domains):
        description["domains"] = domains
    return description


class _UnstoredMechanism(Mechanism):
    """Stands in for a regime's replaced mechanism in a dataset opened from disk, where only the
    factor's name was recorded: evaluating it raises, naming the regime, the factor and the path."""

    def __init__(self, regime: str, factor: str, path: Path):
        self.regime, self.factor, self.path = regime, factor, path

    def evaluate(self, parents: np.ndarray, noise: np.ndarray) -> np.ndarray:
        raise ValueError(f"Regime {self.regime!r} of the stored dataset {self.path} replaces the mechanism of "
                         f"{self.factor!r} by an object that is not stored; open the dataset with "
                         f"generate(world, n, seed=..., cache_key=..., regime=...) to compute its counterfactuals.")

    def __repr__(self) -> str:
        return f"UnstoredMechanism({self.factor!r})"


def _regimes_from_manifest(description: dict, path: Path) -> tuple[Regime, ...]:
    regimes = []
    for regime, entry in zip(RegimeMixture.from_description(description).regimes, description["regimes"]):
        if entry.get("mechanisms"):
            regime = Regime(regime.name, regime.interventions,
                            {name: _UnstoredMechanism(regime.name, name, path) for name in entry["mechanisms"]})
        regimes.append(regime)
    return tuple(regimes)


class _RowWriter:
    """Writes the ``.npy`` file ``path`` of ``shape`` (N, ...) and ``dtype`` block of rows by block, in order,
    through a plain file handle: a full disk is an ``OSError`` from ``write``. (Writing into a memory map of
    the file, which is sparse until written, makes a full disk a SIGBUS that kills the process with no
    message and leaves its temporary directory behind.) Use as a context manager; the file is closed,
    flushed and fsynced on exit, and must then hold all N rows."""

    def __init__(self, path: Path, dtype: Any, shape: tuple[int, ...]):
        self.path, self.dtype, self.shape = Path(path), np.dtype(dtype), tuple(int(s) for s in shape)
        self.rows = 0
        self._handle = open(self.path, "xb")
        try:
            np.lib.format.write_array_header_1_0(self._handle, {"descr": np.lib.format.dtype_to_descr(self.dtype),
                                                                "fortran_order": False, "shape": self.shape})
        except BaseException:
            self._handle.close()
            raise

    def write(self, block: np.ndarray) -> None:
        """Append rows ``block`` (n, ...) (cast to the file's dtype)."""
        block = np.ascontiguousarray(block, dtype=self.dtype)
        if block.shape[1:] != self.shape[1:] or self.rows + len(block) > self.shape[0]:
            raise ValueError(f"{self.path}: rows of shape {block.shape} do not fit an array of shape {self.shape} "
                             f"holding {self.rows} rows.")
        self._handle.write(memoryview(block).cast("B"))
        self.rows += len(block)

    def __enter__(self) -> _RowWriter:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        try:
            if kind is None:
                if self.rows != self.shape[0]:
                    raise ValueError(f"{self.path}: {self.rows} rows written of {self.shape[0]}.")
                self._handle.flush()
                os.fsync(self._handle.fileno())
        finally:
            self._handle.close()


def _write_error(error: BaseException, final: Path) -> BaseException:
    """``error`` of writing the dataset ``final``; one that names no file (a full disk's, from ``write``) as
    an ``OSError`` of the same kind naming the dataset."""
    if isinstance(error, OSError) and error.errno is not None and error.filename is None:
        return OSError(error.errno, f"{error.strerror or error} (while storing '{final}'; nothing was stored)")
    return error


def _file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            sha.update(block)
    return sha.hexdigest()


class StoredDataset:
    """A verified dataset on disk: ``images`` (N, C, H, W) uint8 memmap, ``factors`` (N, K),
    ``noise`` dict of (N,) arrays, ``manifest`` dict. ``regimes`` (the objects the data was
    generated from) replaces the ones rebuilt from the manifest's description."""

    def __init__(self, path: Path, manifest: dict, regimes: tuple[Regime, ...] | None = None):
        self.path = Path(path)
        self.manifest = manifest
        self.images = np.load(self.path / "images.npy", mmap_mode="r")
        self.factors = np.load(self.path / "factors.npy")
        with np.load(self.path / "noise.npz") as archive:
            self.noise = {k: archive[k] for k in archive.files}
        self.factor_names = tuple(manifest["factor_names"])
        self.regimes: tuple = ()
        self.regime = self.targets = self.domain = None
        if "regimes" in manifest:
            self.regimes = tuple(regimes) if regimes is not None else _regimes_from_manifest(manifest["regimes"],
                                                                                            self.path)
            with np.load(self.path / "regimes.npz") as archive:
                self.regime, self.targets = archive["regime"], archive["targets"]
            domains = manifest["regimes"].get("domains")
            if domains is not None:
                self.domain = np.asarray(domains, dtype=np.int64)[self.regime]
        self._check_layout()

    def _check_layout(self) -> None:
        """The arrays' counts and shapes are those the manifest records (a damaged manifest that
        still lists the right files would otherwise mislabel or misread them)."""
        count, k = self.manifest["count"], len(self.factor_names)
        shapes = {"images.npy": (self.images.shape, (count, *self.manifest.get("image_shape", self.images.shape[1:]))),
                  "factors.npy": (self.factors.shape, (count, k))}
        shapes.update({f"noise.npz[{name!r}]": (column.shape, (count,)) for name, column in self.noise.items()})
        if self.regime is not None:
            shapes["regimes.npz"] = ((*self.regime.shape, *self.targets.shape), (count, count, k))
        for name, (shape, expected) in shapes.items():
            if tuple(shape) != tuple(expected):
                raise CorruptDatasetError(self.path / "manifest.json", f"{name} has shape {tuple(shape)} but the "
                                                                       f"manifest describes {tuple(expected)}")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def batch(self, index: Any) -> Batch:
        """Samples as a :class:`Batch` with float32 images in [0, 1], in the order ``index`` gives
        them: a slice, an int (a batch of one), integer indices (M,) or a boolean mask (N,)."""
        index = self._rows(index)
        if isinstance(index, slice):
            images = self.images[index]
        else:
            unique, inverse = np.unique(index, return_inverse=True)  # each row read once, in file order
            images = self.images[unique][inverse.reshape(-1)]
        images = np.asarray(images, dtype=np.float32) / np.float32(255.0)
        return Batch(images, self.factors[index], {k: v[index] for k, v in self.noise.items()},
                     self.factor_names, None if self.regime is None else self.regime[index],
                     None if self.targets is None else self.targets[index], self.regimes,
                     None if self.domain is None else self.domain[index])

    def _rows(self, index: Any) -> slice | np.ndarray:
        """``index`` of :meth:`batch` as a slice or non-negative int64 row numbers (M,)."""
        n = len(self)
        if isinstance(index, slice):
            return index
        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            position = int(index) + (n if index < 0 else 0)
            if not 0 <= position < n:
                raise IndexError(f"StoredDataset.batch: index {int(index)} is out of range for a dataset of {n} "
                                 f"samples.")
            return slice(position, position + 1)
        rows = np.asarray(index)
        if rows.dtype == bool:
            if rows.shape != (n,):
                raise IndexError(f"StoredDataset.batch: a boolean mask 'index' must have shape ({n},). Got "
                                 f"{rows.shape}.")
            return np.flatnonzero(rows)
        if rows.size == 0 and rows.ndim == 1:
            return np.zeros(0, dtype=np.int64)
        if rows.ndim != 1 or not np.issubdtype(rows.dtype, np.integer):
            raise TypeError(f"StoredDataset.batch: 'index' must be a slice, an int, integer indices (M,) or a boolean "
                            f"mask ({n},). Got {rows.dtype} of shape {rows.shape}.")
        bad = (rows < -n) | (rows >= n)
        if np.any(bad):
            raise IndexError(f"StoredDataset.batch: index {int(rows[bad][0])} is out of range for a dataset of {n} "
                             f"samples.")
        return np.where(rows < 0, rows + n, rows).astype(np.int64)

    def split(self, test_fraction: float = 0.2, *,
              seed: int | np.random.Generator = 0) -> tuple[np.ndarray, np.ndarray]:
        """Seeded random train/test index split, sorted indices (train, test)."""
        fraction = check_number(test_fraction, "test_fraction", "StoredDataset.split", low=0.0, high=1.0,
                                low_inclusive=False, high_inclusive=False)
        order = as_generator(seed).permutation(len(self))
        n_test = max(1, int(round(fraction * len(self))))
        return np.sort(order[n_test:]), np.sort(order[:n_test])

    def torch_dataset(self, indices: Iterable[int] | None = None):
        """A ``torch.utils.data.Dataset`` of ``(image float32 (C, H, W), factors float32 (K,))``."""
        from latentscm.worlds.torch_data import WorldDataset

        return WorldDataset(self, indices)

    def __repr__(self) -> str:
        return f"StoredDataset({self.manifest['world']!r}, n={len(self)}, path={str(self.path)!r})"


#: files every dataset has (an interventional one adds regimes.npz), and the manifest entries read on load
_REQUIRED_FILES = ("images.npy", "factors.npy", "noise.npz")
_REQUIRED_ENTRIES = ("world", "factor_names", "count", "files")


def _verify(path: Path, key: str | None = None, *, entries: tuple[str, ...] = _REQUIRED_ENTRIES,
            required_files: tuple[str, ...] = _REQUIRED_FILES) -> dict:
    """The manifest of the dataset at ``path`` after checking it and every file it must list
    (size and SHA-256); ``key``, when given, is the content address the manifest must record.
    ``entries`` and ``required_files`` are what the manifest must hold and list (a world dataset's
    by default; :mod:`latentscm.data.store` passes those of imported user data)."""
    manifest_path = path / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorruptDatasetError(manifest_path, f"unreadable manifest ({error})") from None
    if not isinstance(manifest, dict):
        raise CorruptDatasetError(manifest_path, f"the manifest is a JSON {type(manifest).__name__}, not an object")
    lacking = [entry for entry in entries if entry not in manifest]
    if lacking:
        raise CorruptDatasetError(manifest_path, f"the manifest lacks {', '.join(lacking)}")
    if key is not None and manifest.get("key") != key:
        raise CorruptDatasetError(manifest_path, f"the manifest records key {manifest.get('key')!r}, not this "
                                                 f"dataset's {key!r}")
    files = manifest["files"]
    if not isinstance(files, dict) or not files:
        raise CorruptDatasetError(manifest_path, "manifest lists no files")
    required = (*required_files, "regimes.npz") if "regimes" in manifest else required_files
    for name in required:
        if name not in files:
            raise CorruptDatasetError(path / name, "missing from the manifest (its content cannot be verified)")
    for name, expected in files.items():
        file = path / name
        if not isinstance(expected, dict) or not {"bytes", "sha256"} <= set(expected):
            raise CorruptDatasetError(manifest_path, f"the manifest entry of {name!r} lacks its size or SHA-256")
        if not file.exists():
            raise CorruptDatasetError(file, "missing")
        size = file.stat().st_size
        if size != expected["bytes"]:
            raise CorruptDatasetError(file, f"size {size} bytes, expected {expected['bytes']} (truncated?)")
        digest = _file_digest(file)
        if digest != expected["sha256"]:
            raise CorruptDatasetError(file, "SHA-256 does not match the manifest (modified?)")
    return manifest


#: the manifest entries a world dataset's key hashes (``"regimes"`` too, when present)
_IDENTITY_ENTRIES = ("world", "class", "options", "n", "seed", "version", "format")
#: the manifest's own SHA-256 (of the manifest without this entry), so an edited manifest is detected
_MANIFEST_DIGEST = "manifest_sha256"


def _manifest_digest(manifest: dict) -> str:
    body = {k: v for k, v in manifest.items() if k != _MANIFEST_DIGEST}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _verify_world(path: Path, key: str | None = None, world: World | None = None) -> dict:
    """:func:`_verify`, then what a world dataset's manifest says beyond its files' digests: the
    manifest's own digest, its identity (world, options, seed, regimes, ...) hashing to its key,
    and, given ``world``, the world's factor names and image shape. The counts and shapes of the
    arrays are checked against the manifest by :class:`StoredDataset`."""
    manifest = _verify(path, key)
    manifest_path = path / "manifest.json"
    if _MANIFEST_DIGEST in manifest and manifest[_MANIFEST_DIGEST] != _manifest_digest(manifest):
        raise CorruptDatasetError(manifest_path, "the manifest does not match its own SHA-256 (edited?)")
    if all(entry in manifest for entry in _IDENTITY_ENTRIES):
        identity = {entry: manifest[entry] for entry in (*_IDENTITY_ENTRIES, "regimes") if entry in manifest}
        if hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest() != manifest.get("key"):
            raise CorruptDatasetError(manifest_path, "its world, options, seed or regimes do not hash to its key "
                                                     "(edited?)")
    if world is not None:
        for entry, expected in (("factor_names", list(world.factor_names)), ("image_shape", list(world.image_shape))):
            if manifest.get(entry) != expected:
                raise CorruptDatasetError(manifest_path, f"its {entry} {manifest.get(entry)!r} are not world "
                                                         f"{world.name!r}'s {expected!r}")
    return manifest


def load(path: str | os.PathLike) -> StoredDataset:
    """Open a stored dataset directory after verifying every file and its manifest (raises
    :class:`CorruptDatasetError` naming the bad file)."""
    path = Path(path)
    return StoredDataset(path, _verify_world(path))


def _remove_orphans(base: Path, prefix: str) -> None:
    """Delete temporaries ``<prefix><pid>`` or ``<prefix>[<token>-]<host>-<pid>[~<token>]`` left by
    killed generators (their pid is gone); a live process's temporary is left alone (it may still
    finish), and so is one of another machine (:func:`~latentscm._io.host_tag`), whose pid cannot be
    checked from here."""
    for path in base.glob(f"{prefix}*"):
        # the writer is "<host>-<pid>" (a host tag holds no "-"), with a token of one call of a writer before
        # or after it (threads of one process, or processes of one pid in two containers of one host)
        writer = "-".join(path.name[len(prefix):].partition("~")[0].rsplit("-", 2)[-2:])
        if orphaned(writer):
            shutil.rmtree(path, ignore_errors=True)


def generate(world: World, n: int | None = None, *, seed: int = 0, root: str | os.PathLike | None = None,
             cache_key: str | None = None, chunk: int = _CHUNK, progress: bool = False,
             regime: Any = None) -> StoredDataset:
    """Write (once) and open the dataset of ``world``: the full grid when ``n`` is None (a discrete
    world without causal edges), else
    ``n`` samples drawn with ``seed`` (from ``regime``, a regime or mixture, when given: see
    :mod:`latentscm.worlds.regimes`; its description is part of the content address). The samples
    equal ``world.sample(n, seed=seed, regime=regime)`` whatever ``chunk`` (images rendered per
    step) is. Reuses a verified copy when one exists; regenerates (with
    a warning naming the file) when the stored copy is corrupt."""
    if n is not None:
        n = int(check_number(n, "n", "generate", low=1, integer=True))
    elif not np.isfinite(world.n_combinations):
        raise ValueError(f"World {world.name!r} has continuous factors: pass n= to generate samples.")
    elif world.scm.graph.edges:
        # every grid point once is the world's distribution only when its factors are independent; with
        # edges most points may be impossible, and the grid stores no exogenous noise to abduct from
        edges = ", ".join(f"{a} -> {b}" for a, b in world.scm.graph.edges)
        raise ValueError(f"World {world.name!r} has causal edges ({edges}), so its full grid holds combinations "
                         f"its SCM need not produce: pass n= to generate samples from it.")
    chunk = int(check_number(chunk, "chunk", "generate", low=1, integer=True))
    mixture = as_mixture(regime)
    interventional = not (len(mixture) == 1 and mixture.regimes[0].observational)
    if getattr(world, "n_domains", 1) > 1 and not interventional:  # the key omits the shift; sample() draws domain 0
        raise ValueError(f"generate: world {world.name!r} has {world.n_domains} domains; without regime= the stored "
                         f"dataset would hold domain 0 under the plain world's key. Pass the domains' regimes, "
                         f"regime=domain_regimes(world, world.domains) (with a cache_key when they replace "
                         f"mechanisms), or train on the world itself (fit(world) draws every domain).")
    if interventional and n is None:
        raise ValueError("generate: a regime needs n= samples (the full grid is observational by definition).")
    key, identity = dataset_key(world, n, seed, cache_key, regime=mixture)
    base = cache_root(root)
    if base.exists() and not base.is_dir():
        raise ValueError(f"generate: the dataset root '{base}' is not a directory (root=..., $LATENTSCM_CACHE).")
    final = base / f"{world.name}-{key[:16]}"
    regimes = mixture.regimes if interventional else None
    if final.exists():
        try:
            return StoredDataset(final, _verify_world(final, key, world), regimes)
        except CorruptDatasetError as error:
            warnings.warn(f"{error}; regenerating {final}.", RuntimeWarning, stacklevel=2)
            shutil.rmtree(final, ignore_errors=True)

    base.mkdir(parents=True, exist_ok=True)
    _remove_orphans(base, f".tmp-{world.name}-{key[:16]}-")
    # pids repeat across machines, and threads of one process share theirs: the token keeps each call's own
    temporary = base / f".tmp-{world.name}-{key[:16]}-{host_tag()}-{os.getpid()}~{secrets.token_hex(8)}"
    temporary.mkdir()
    try:
        total = int(world.n_combinations) if n is None else n
        # everything random is drawn for all samples at once and only rendering goes chunk by chunk,
        # so the content does not depend on `chunk` (which is not part of the key)
        rng = as_generator(seed)
        if n is None:
            factors = np.empty((total, len(world.factor_names)), dtype=np.float64)
            noise = {RENDER_SEED: rng.integers(0, 2**62, size=total, dtype=np.int64)} if world.render_random else {}
        else:
            drawn = world._draw(n, seed=rng, regime=mixture if interventional else None)
            factors, noise, regime_index, targets, _ = drawn
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, desc=f"generate {world.name}", unit="img")
        with _RowWriter(temporary / "images.npy", np.uint8, (total, *world.image_shape)) as images:
            for start in range(0, total, chunk):
                stop = min(total, start + chunk)
                seeds = noise[RENDER_SEED][start:stop] if RENDER_SEED in noise else None
                if n is None:
                    factors[start:stop] = world.grid_factors(start, stop)
                    part = world.render(factors[start:stop], render_seeds=seeds)
                else:
                    part = world._render_checked(factors[start:stop], seeds)
                images.write(np.rint(part * 255.0).astype(np.uint8))
                if bar is not None:
                    bar.update(stop - start)
        if bar is not None:
            bar.close()
        np.save(temporary / "factors.npy", factors)
        np.savez(temporary / "noise.npz", **noise)
        names = ["images.npy", "factors.npy", "noise.npz"]
        if interventional:
            np.savez(temporary / "regimes.npz", regime=regime_index, targets=targets)
            names.append("regimes.npz")
        files = {}
        for name in names:
            file = temporary / name
            files[name] = {"bytes": file.stat().st_size, "sha256": _file_digest(file)}
            with open(file, "rb") as handle:
                os.fsync(handle.fileno())
        manifest = {**identity, "key": key, "factor_names": list(world.factor_names),
                    "image_shape": list(world.image_shape), "count": total, "files": files,
                    "image_encoding": "uint8, pixel = value / 255"}
        manifest[_MANIFEST_DIGEST] = _manifest_digest(manifest)
        (temporary / "manifest.json").write_text(json.dumps(manifest, indent=2))
        try:
            os.replace(temporary, final)
        except OSError:
            # another process finished the same dataset first: use theirs if it verifies
            shutil.rmtree(temporary, ignore_errors=True)
            return StoredDataset(final, _verify_world(final, key, world), regimes)
    except BaseException as error:
        shutil.rmtree(temporary, ignore_errors=True)
        named = _write_error(error, final)
        if named is not error:
            raise named from error
        raise
    return StoredDataset(final, manifest, regimes)
