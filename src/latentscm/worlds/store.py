"""Datasets written once, content-addressed, verified on load, memory-mapped.

``generate(world, n=None, seed=0)`` renders a world's full grid (``n=None``, discrete worlds) or
``n`` seeded samples into a directory named by a SHA-256 of (world name, options, n, seed,
library version, format version). Images are stored as uint8 (value = round(255 * pixel)), so
binary worlds are exact and the others are quantised to 1/255; they are written in chunks into
a memory-mapped ``.npy`` file so the full sprites grid never sits in RAM.

Everything is written into a temporary directory and renamed into place at the end, so a crash
never leaves a half-written dataset under the final name. On load every file's size and
SHA-256 are checked against the manifest; a truncated, tampered or missing file triggers a
warning naming it and the dataset is regenerated — never used silently.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from latentscm._registry import class_path
from latentscm._validation import as_generator, check_number
from latentscm._version import __version__
from latentscm.exceptions import LatentSCMError
from latentscm.worlds.batch import RENDER_SEED, Batch
from latentscm.worlds.regimes import RegimeMixture, as_mixture

if TYPE_CHECKING:  # pragma: no cover
    from latentscm.worlds.base import World

__all__ = ["StoredDataset", "CorruptDatasetError", "generate", "load", "cache_root", "dataset_key"]

FORMAT_VERSION = 1
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
    purely observational data is part of it)."""
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
        identity["regimes"] = mixture.describe()
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return digest, identity


def _file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            sha.update(block)
    return sha.hexdigest()


class StoredDataset:
    """A verified dataset on disk: ``images`` (N, C, H, W) uint8 memmap, ``factors`` (N, K),
    ``noise`` dict of (N,) arrays, ``manifest`` dict."""

    def __init__(self, path: Path, manifest: dict):
        self.path = Path(path)
        self.manifest = manifest
        self.images = np.load(self.path / "images.npy", mmap_mode="r")
        self.factors = np.load(self.path / "factors.npy")
        with np.load(self.path / "noise.npz") as archive:
            self.noise = {k: archive[k] for k in archive.files}
        self.factor_names = tuple(manifest["factor_names"])
        self.regimes: tuple = ()
        self.regime = self.targets = None
        if "regimes" in manifest:
            self.regimes = RegimeMixture.from_description(manifest["regimes"]).regimes
            with np.load(self.path / "regimes.npz") as archive:
                self.regime, self.targets = archive["regime"], archive["targets"]

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def batch(self, index: Any) -> Batch:
        """Samples as a :class:`Batch` with float32 images in [0, 1]."""
        index = np.sort(np.asarray(index)) if not isinstance(index, slice) else index
        images = np.asarray(self.images[index], dtype=np.float32) / np.float32(255.0)
        return Batch(images, self.factors[index], {k: v[index] for k, v in self.noise.items()},
                     self.factor_names, None if self.regime is None else self.regime[index],
                     None if self.targets is None else self.targets[index], self.regimes)

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


def _verify(path: Path) -> dict:
    manifest_path = path / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise CorruptDatasetError(manifest_path, f"unreadable manifest ({error})") from None
    for name, expected in manifest.get("files", {}).items():
        file = path / name
        if not file.exists():
            raise CorruptDatasetError(file, "missing")
        size = file.stat().st_size
        if size != expected["bytes"]:
            raise CorruptDatasetError(file, f"size {size} bytes, expected {expected['bytes']} (truncated?)")
        digest = _file_digest(file)
        if digest != expected["sha256"]:
            raise CorruptDatasetError(file, "SHA-256 does not match the manifest (modified?)")
    if "regimes" in manifest and "regimes.npz" not in manifest.get("files", {}):
        raise CorruptDatasetError(path / "regimes.npz", "missing from the manifest of an interventional dataset")
    if not manifest.get("files"):
        raise CorruptDatasetError(manifest_path, "manifest lists no files")
    return manifest


def load(path: str | os.PathLike) -> StoredDataset:
    """Open a stored dataset directory after verifying every file (raises
    :class:`CorruptDatasetError` naming the bad file)."""
    path = Path(path)
    return StoredDataset(path, _verify(path))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _remove_orphans(base: Path, prefix: str) -> None:
    """Delete temporaries ``<prefix><pid>`` left by killed generators (their pid is gone); a live
    process's temporary is left alone (it may still finish)."""
    for path in base.glob(f"{prefix}*"):
        pid = path.name[len(prefix):]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def generate(world: World, n: int | None = None, *, seed: int = 0, root: str | os.PathLike | None = None,
             cache_key: str | None = None, chunk: int = _CHUNK, progress: bool = False,
             regime: Any = None) -> StoredDataset:
    """Write (once) and open the dataset of ``world``: the full grid when ``n`` is None, else
    ``n`` samples drawn with ``seed`` (from ``regime``, a regime or mixture, when given: see
    :mod:`latentscm.worlds.regimes`; its description is part of the content address). Reuses a
    verified copy when one exists; regenerates (with
    a warning naming the file) when the stored copy is corrupt."""
    if n is not None:
        n = int(check_number(n, "n", "generate", low=1, integer=True))
    elif not np.isfinite(world.n_combinations):
        raise ValueError(f"World {world.name!r} has continuous factors: pass n= to generate samples.")
    chunk = int(check_number(chunk, "chunk", "generate", low=1, integer=True))
    mixture = as_mixture(regime)
    interventional = not (len(mixture) == 1 and mixture.regimes[0].observational)
    if interventional and n is None:
        raise ValueError("generate: a regime needs n= samples (the full grid is observational by definition).")
    key, identity = dataset_key(world, n, seed, cache_key, regime=mixture)
    base = cache_root(root)
    final = base / f"{world.name}-{key[:16]}"
    if final.exists():
        try:
            return StoredDataset(final, _verify(final))
        except CorruptDatasetError as error:
            warnings.warn(f"{error}; regenerating {final}.", RuntimeWarning, stacklevel=2)
            shutil.rmtree(final, ignore_errors=True)

    base.mkdir(parents=True, exist_ok=True)
    _remove_orphans(base, f".tmp-{world.name}-{key[:16]}-")
    temporary = base / f".tmp-{world.name}-{key[:16]}-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    try:
        total = int(world.n_combinations) if n is None else n
        images = np.lib.format.open_memmap(temporary / "images.npy", mode="w+", dtype=np.uint8,
                                           shape=(total, *world.image_shape))
        factors = np.empty((total, len(world.factor_names)), dtype=np.float64)
        noise: dict[str, np.ndarray] = {}
        regime_index = np.zeros(total, dtype=np.int64)
        targets = np.zeros((total, len(world.factor_names)), dtype=bool)
        rng = as_generator(seed)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, desc=f"generate {world.name}", unit="img")
        for start in range(0, total, chunk):
            stop = min(total, start + chunk)
            if n is None:
                values = world.grid_factors(start, stop)
                seeds = rng.integers(0, 2**62, size=stop - start, dtype=np.int64) if world.render_random else None
                part = world.render(values, render_seeds=seeds)
                part_noise = {} if seeds is None else {RENDER_SEED: seeds}
            else:
                batch = world.sample(stop - start, seed=rng, regime=mixture if interventional else None)
                values, part, part_noise = batch.factors, batch.images, batch.noise
                regime_index[start:stop], targets[start:stop] = batch.regime, batch.targets
            images[start:stop] = np.rint(part * 255.0).astype(np.uint8)
            factors[start:stop] = values
            for name, array in part_noise.items():
                if name not in noise:
                    noise[name] = np.empty((total, *array.shape[1:]), dtype=array.dtype)
                noise[name][start:stop] = array
            if bar is not None:
                bar.update(stop - start)
        if bar is not None:
            bar.close()
        images.flush()
        del images
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
        (temporary / "manifest.json").write_text(json.dumps(manifest, indent=2))
        try:
            os.replace(temporary, final)
        except OSError:
            # another process finished the same dataset first: use theirs if it verifies
            shutil.rmtree(temporary, ignore_errors=True)
            return StoredDataset(final, _verify(final))
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return StoredDataset(final, manifest)
