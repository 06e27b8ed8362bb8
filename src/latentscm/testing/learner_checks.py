"""``check_learner(learner_cls)``: the conformance checks every learner passes (built-in or a user's).

Like scikit-learn's ``check_estimator``, it trains tiny models for a few steps on small random
images and checks the contract of :class:`latentscm.learners.base.Learner`:

- the training protocol (:mod:`latentscm.training.protocol`): every hook the loop calls exists,
  ``loss`` is implemented and takes the keywords its flags promise; after ``fit`` the loss calls
  the plain modules again;
- hyperparameters: ``get_params`` returns the constructor arguments, which include ``seed``; bad
  values (NaN, strings, zero sizes, unknown likelihoods) raise ``TypeError``/``ValueError`` naming
  the parameter;
- ``fit`` returns the learner itself and sets the learned attributes; ``encode``, ``decode``,
  ``reconstruct`` and ``sample`` used before fit raise ``NotFittedError``;
- ``fit`` on a tiny batch is deterministic for a seed (bit-identical weights), and fitting again
  gives the same weights (idempotent);
- ``encode`` (mean and seeded sampled codes: reproducible, and for a Gaussian posterior not the
  means and different for another seed), ``decode``, ``reconstruct``, ``sample`` (reproducible, and
  other images for another seed) have the documented shapes, dtypes (float32) and ranges ([0, 1]
  images), also for a batch of one;
- pickling and ``save`` / ``latentscm.load`` round-trip to identical codes;
- NaN, out-of-range and wrongly shaped inputs are rejected with clear errors (images in ``fit``
  and ``encode``, codes in ``decode``).

Raises ``AssertionError`` naming the failed property; returns a dict of what it measured.
"""

from __future__ import annotations

import inspect
import math
import pickle
import tempfile
from typing import Any

import numpy as np

__all__ = ["check_learner", "tiny_params"]

_TINY = {"latent_dim": 3, "channels": (4, 8), "hidden_dim": 16, "batch_size": 8, "steps": 3, "lr": 1e-3, "seed": 0,
         "discriminator_hidden": (16, 16)}


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def tiny_params(learner_cls: type, **overrides: Any) -> dict[str, Any]:
    """Small, fast hyperparameters for ``learner_cls`` (only those its constructor accepts)."""
    names = set(inspect.signature(learner_cls.__init__).parameters)
    params = {key: value for key, value in _TINY.items() if key in names}
    params.update(overrides)
    return params


def _tiny_images(n: int, shape: tuple[int, int, int], seed: int) -> np.ndarray:
    """Random blobs in [0, 1] (N, C, H, W) float32: smooth enough to be learnable."""
    rng = np.random.default_rng(seed)
    c, h, w = shape
    rows, cols = np.mgrid[0:h, 0:w]
    centres = rng.uniform(0, [h, w], size=(n, 2))
    radius = rng.uniform(1.5, max(h, w) / 3, size=n)
    distance = (rows[None] - centres[:, 0, None, None]) ** 2 + (cols[None] - centres[:, 1, None, None]) ** 2
    blob = np.exp(-distance / (2 * radius[:, None, None] ** 2))
    return np.repeat(blob[:, None], c, axis=1).astype(np.float32)


def _replace_images(data: Any, images: np.ndarray) -> Any:
    """``data`` with other images: an array, a Batch keeping its factors, ImagePairs keeping the partners, or
    MultiViews keeping the other views (3-D ``images``: every view flattened the same way)."""
    from latentscm.data.multi_view import MultiViews
    from latentscm.data.pairs import ImagePairs
    from latentscm.data.transitions import TemporalTransitions

    if isinstance(data, TemporalTransitions):
        return TemporalTransitions(images, data.next_images if images.ndim == 4 else data.next_images[:, 0],
                                   data.targets, data.variables)
    if isinstance(data, MultiViews):
        return MultiViews([images] + [view if images.ndim == 4 else view[:, 0] for view in data.views[1:]])
    if isinstance(data, ImagePairs):
        return ImagePairs(images, data.second if images.ndim == 4 else data.second[:, 0], data.changed)
    if hasattr(data, "images"):
        from latentscm.worlds.base import Batch

        return Batch(images, data.factors, data.noise, data.factor_names)
    return images


def _require_images(images: Any, shape: tuple[int, ...], what: str) -> None:
    """``images`` are a float32 array of ``shape`` with values in [0, 1]."""
    _require(isinstance(images, np.ndarray) and images.dtype == np.float32 and images.shape == tuple(shape),
             f"{what} gave {getattr(images, 'dtype', type(images).__name__)} {getattr(images, 'shape', '')}, "
             f"expected float32 {tuple(shape)}")
    _require(bool(np.all(np.isfinite(images))) and float(images.min()) >= 0.0 and float(images.max()) <= 1.0,
             f"{what} gave values outside [0, 1]")


def _weights(learner) -> dict[str, Any]:
    return {f"{name}.{key}": value.detach().cpu().clone()
            for name, module in learner._modules().items() for key, value in module.state_dict().items()}


def _same_weights(a: dict[str, Any], b: dict[str, Any]) -> bool:
    import torch

    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _expect_error(kinds: tuple[type[BaseException], ...], call, mention: str, what: str) -> str:
    try:
        call()
    except kinds as error:
        message = str(error)
        _require(mention.lower() in message.lower(), f"{what}: the error does not mention {mention!r}: {message!r}")
        return message
    except Exception as error:  # pragma: no cover - reported as a failure
        raise AssertionError(f"{what}: raised {type(error).__name__} ({error}) instead of "
                             f"{'/'.join(k.__name__ for k in kinds)}") from error
    raise AssertionError(f"{what}: no error was raised")


def check_learner(learner_cls: type, *, params: dict[str, Any] | None = None,
                  image_shape: tuple[int, int, int] = (1, 16, 16), n: int = 16, seed: int = 0,
                  world: Any = None) -> dict[str, Any]:
    """Run the Learner contract checks on ``learner_cls``; returns measurements.

    Parameters
    ----------
    learner_cls : type
        A subclass of :class:`~latentscm.learners.base.Learner`.
    params : dict or None, default None
        Hyperparameters overriding the tiny defaults of :func:`tiny_params`.
    image_shape : tuple of int, default (1, 16, 16)
        (C, H, W) of the random training images.
    n : int, default 16
        Number of training images.
    seed : int, default 0
        Seed of the training images.
    world : World or None, default None
        Train on ``n`` samples of this World (a Batch with factors) instead of random images —
        for learners that need factor labels; ``image_shape`` is then the world's.

    Returns
    -------
    dict of str to Any
        Measurements taken along the way (e.g. ``"final_loss"``, ``"latent_dim"``).

    Raises
    ------
    AssertionError
        On the first broken rule, with a message naming it.
    TypeError, ValueError
        On a bad argument of the check itself (``n`` below 1, a negative ``seed``, an ``image_shape``
        that is not (C, H, W), a World class instead of an instance).
    """
    import latentscm
    from latentscm._validation import check_number
    from latentscm.learners.base import Learner, NotFittedError
    from latentscm.training.protocol import TrainingProtocolError, check_training_protocol

    n = check_number(n, "n", "check_learner", low=1, integer=True)
    seed = check_number(seed, "seed", "check_learner", low=0, integer=True)
    if (not isinstance(image_shape, (tuple, list)) or len(image_shape) != 3
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1 for s in image_shape)):
        raise ValueError(f"The 'image_shape' parameter of check_learner must be (C, H, W), three positive ints. "
                         f"Got {image_shape!r} instead.")
    image_shape = tuple(int(s) for s in image_shape)
    if world is not None and (isinstance(world, type) or not callable(getattr(world, "sample", None))):
        raise TypeError(f"The 'world' parameter of check_learner must be a World instance (e.g. Pendulum()) or None. "
                        f"Got {world!r} instead.")
    _require(isinstance(learner_cls, type) and issubclass(learner_cls, Learner),
             f"{learner_cls!r} is not a Learner subclass")
    try:
        check_training_protocol(learner_cls)
    except TrainingProtocolError as error:
        raise AssertionError(str(error)) from None
    _require("seed" in inspect.signature(learner_cls.__init__).parameters,
             f"{learner_cls.__name__}.__init__ takes no 'seed': every random function takes a seed (its training "
             f"noise and initialisation must be chosen by the caller, not fixed)")
    report: dict[str, Any] = {}
    params = tiny_params(learner_cls, **(params or {}))
    owner = learner_cls.__name__
    if world is not None:
        data = world.sample(n, seed=seed)
        images = data.images
        image_shape = tuple(int(s) for s in images.shape[1:])
    else:
        data = images = _tiny_images(n, image_shape, seed)
    if getattr(learner_cls, "uses_pairs", False):  # pair-trained: each image with a partner that differs a little
        from latentscm.data.pairs import ImagePairs

        partners = np.clip(images + 0.1 * _tiny_images(n, image_shape, seed + 1) - 0.05, 0.0, 1.0).astype(np.float32)
        data = ImagePairs(images, partners, np.ones(n, dtype=np.int64))
    if getattr(learner_cls, "uses_views", False):  # multi-view: the images and perturbed copies, one per other view
        from latentscm.data.multi_view import MultiViews

        params = {"views": [["a", "b"], ["a", "c"]], **params}  # labels: view 0 and view 1 share latent "a"
        data = MultiViews([images] + [np.clip(images + 0.1 * _tiny_images(n, image_shape, seed + 1 + k) - 0.05, 0.0,
                                              1.0).astype(np.float32) for k in range(len(params["views"]) - 1)])

    if getattr(learner_cls, "uses_transitions", False):  # temporal: each image, a next frame and random targets
        from latentscm.data.transitions import TemporalTransitions

        following = np.clip(images + 0.1 * _tiny_images(n, image_shape, seed + 1) - 0.05, 0.0, 1.0).astype(np.float32)
        data = TemporalTransitions(images, following, np.random.default_rng(seed).random((n, 2)) < 0.5, ["a", "b"])

    # --- hyperparameters -------------------------------------------------------------------
    learner = learner_cls(**params)
    got = learner.get_params()
    _require(set(got) == set(inspect.signature(learner_cls.__init__).parameters) - {"self"},
             f"{owner}.get_params() keys differ from the constructor arguments")
    for key, value in params.items():
        _require(got[key] == value or (isinstance(value, tuple) and tuple(got[key]) == value),
                 f"{owner}.get_params()[{key!r}] is {got[key]!r}, expected {value!r}")
    _require(type(learner.clone()) is learner_cls and learner.clone().get_params() == got, f"{owner}.clone() differs")
    bad_values = [("latent_dim", 0), ("batch_size", 0), ("steps", -1), ("lr", float("nan")), ("lr", -1.0),
                  ("seed", "zero"), ("likelihood", "poisson"), ("device", 3)]
    for key, value in learner.get_params().items():
        if isinstance(value, float) and not isinstance(value, bool):
            bad_values += [(key, float("nan")), (key, "high")]
    checked = 0
    names = set(got)
    for key, value in bad_values:
        if key not in names:
            continue
        _expect_error((TypeError, ValueError), lambda k=key, v=value: learner_cls(**{**params, k: v}), key,
                      f"{owner}({key}={value!r})")
        _expect_error((TypeError, ValueError), lambda k=key, v=value: learner_cls(**params).set_params(**{k: v}), key,
                      f"{owner}.set_params({key}={value!r})")
        checked += 1
    report["bad_hyperparameters_rejected"] = checked

    # --- not fitted ------------------------------------------------------------------------
    _expect_error((NotFittedError,), lambda: learner_cls(**params).encode(images), "fit",
                  f"{owner}.encode before fit")

    # --- fit returns self; deterministic; idempotent ---------------------------------------
    first = learner_cls(**params)
    returned = first.fit(data, progress=False)
    _require(returned is first, f"{owner}.fit must return self")
    modules = tuple(f"{name}_" for name in first._module_names())
    for attribute in (*modules, "latent_dim_", "image_shape_", "history_"):
        _require(hasattr(first, attribute), f"{owner}.fit did not set {attribute}")
    _require(tuple(first.image_shape_) == image_shape, f"{owner}.image_shape_ is {first.image_shape_}")
    for name in first._module_names():
        _require(first._net(name) is getattr(first, f"{name}_"),
                 f"{owner}._net({name!r}) still returns the training wrapper after fit (_clear_train_nets)")
    weights = _weights(first)
    second = learner_cls(**params).fit(data, progress=False)
    _require(_same_weights(weights, _weights(second)), f"{owner}.fit is not deterministic for a fixed seed")
    first.fit(data, progress=False)
    _require(_same_weights(weights, _weights(first)), f"{owner}.fit twice gives different weights (not idempotent)")
    other = learner_cls(**{**params, "seed": params.get("seed", 0) + 1}).fit(data, progress=False)
    _require(not _same_weights(weights, _weights(other)), f"{owner}: different seeds gave identical weights")
    losses = [r["loss"] for r in first.history_ if r.get("kind") == "train" and "loss" in r]
    _require(len(losses) > 0 and all(math.isfinite(v) for v in losses), f"{owner}.history_ has no finite losses")
    report["final_loss"] = losses[-1]

    # --- inference shapes --------------------------------------------------------------------
    d = first.latent_dim_
    codes = first.encode(images)
    _require(codes.shape == (n, d) and codes.dtype == np.float32, f"{owner}.encode gave {codes.dtype} {codes.shape}")
    _require(bool(np.all(np.isfinite(codes))), f"{owner}.encode gave non-finite codes")
    _require(np.array_equal(codes, first.encode(images)), f"{owner}.encode is not deterministic")
    sampled = first.encode(images, sample=True, seed=1)
    _require(isinstance(sampled, np.ndarray) and sampled.shape == (n, d) and sampled.dtype == np.float32,
             f"{owner}.encode(sample=True) gave {getattr(sampled, 'dtype', type(sampled).__name__)} "
             f"{getattr(sampled, 'shape', '')}, expected float32 {(n, d)}")
    _require(bool(np.all(np.isfinite(sampled))), f"{owner}.encode(sample=True) gave non-finite codes")
    _require(np.array_equal(sampled, first.encode(images, sample=True, seed=1)),
             f"{owner}.encode(sample=True, seed=1) is not reproducible")
    if first.posterior == "gaussian":  # deterministic codes have nothing to sample
        _require(not np.array_equal(sampled, codes), f"{owner}.encode(sample=True) returned the posterior means")
        _require(not np.array_equal(sampled, first.encode(images, sample=True, seed=2)),
                 f"{owner}.encode(sample=True) ignores the seed (seeds 1 and 2 gave the same codes)")
    one = first.encode(images[:1])
    _require(one.shape == (1, d), f"{owner}.encode of one image gave shape {one.shape}")
    np.testing.assert_allclose(one[0], codes[0], rtol=1e-4, atol=1e-5,
                               err_msg=f"{owner}.encode of one image differs from the batch")
    if first.posterior == "gaussian":
        mean, logvar = first.encode_distribution(images)
        _require(mean.shape == logvar.shape == (n, d), f"{owner}.encode_distribution shapes {mean.shape}")
        if getattr(first, "codes_are_posterior_means", True):
            _require(np.array_equal(mean, codes), f"{owner}.encode must return the posterior means")
        kl = first.kl_per_unit(images)
        _require(kl.shape == (d,) and bool(np.all(kl >= -1e-6)), f"{owner}.kl_per_unit gave {kl!r}")
    if getattr(first, "can_decode", True):
        decoded = first.decode(codes)
        _require_images(decoded, (n, *image_shape), f"{owner}.decode")
        decoded_one = first.decode(codes[:1])
        _require_images(decoded_one, (1, *image_shape), f"{owner}.decode of one code")
        np.testing.assert_allclose(decoded_one[0], decoded[0], rtol=1e-4, atol=1e-5,
                                   err_msg=f"{owner}.decode of one code differs from the batch")
        _require_images(first.reconstruct(images), images.shape, f"{owner}.reconstruct")
        _require_images(first.reconstruct(images[:1]), (1, *image_shape), f"{owner}.reconstruct of one image")
        generated = first.sample(5, seed=3)
        _require_images(generated, (5, *image_shape), f"{owner}.sample")
        _require(np.array_equal(generated, first.sample(5, seed=3)), f"{owner}.sample(seed=3) is not reproducible")
        _require(not np.array_equal(generated, first.sample(5, seed=4)),
                 f"{owner}.sample ignores the seed (seeds 3 and 4 gave the same images)")
        _require_images(first.sample(1, seed=3), (1, *image_shape), f"{owner}.sample(1)")
        unfitted = learner_cls(**params)
        _expect_error((NotFittedError,), lambda: unfitted.decode(codes), "fit", f"{owner}.decode before fit")
        _expect_error((NotFittedError,), lambda: unfitted.reconstruct(images), "fit", f"{owner}.reconstruct before fit")
        _expect_error((NotFittedError,), lambda: unfitted.sample(2, seed=0), "fit", f"{owner}.sample before fit")
        _expect_error((TypeError,), lambda: first.sample(5, seed=None), "seed", f"{owner}.sample without a seed")
    else:  # an encoder-only learner (can_decode False) refuses every image-rendering call, naming the decoder
        for what, call in (("decode", lambda: first.decode(codes)), ("reconstruct", lambda: first.reconstruct(images)),
                           ("sample", lambda: first.sample(5, seed=3))):
            _expect_error((TypeError,), call, "decoder", f"{owner}.{what} of a learner without a decoder")

    # --- bad inputs -------------------------------------------------------------------------
    broken = images.copy()
    broken[0, 0, 0, 0] = np.nan
    _expect_error((ValueError,), lambda: learner_cls(**params).fit(_replace_images(data, broken), progress=False),
                  "NaN", f"{owner}.fit on NaN images")
    _expect_error((ValueError,), lambda: first.encode(broken), "NaN", f"{owner}.encode on NaN images")
    _expect_error((ValueError,), lambda: learner_cls(**params).fit(_replace_images(data, images * 3),
                                                                   progress=False),
                  "[0, 1]", f"{owner}.fit on images outside [0, 1]")
    def flat() -> Any:  # ImagePairs, MultiViews: 3-D arrays (refused when the pairs or views are made)
        return _replace_images(data, images[:, 0]) if hasattr(data, "second") or hasattr(data, "views") \
            or hasattr(data, "next_images") \
            else images[:, 0]

    _expect_error((ValueError,), lambda: learner_cls(**params).fit(flat(), progress=False), "4-D",
                  f"{owner}.fit on 3-D input")
    _expect_error((ValueError,), lambda: first.encode(images * 3), "[0, 1]", f"{owner}.encode on images outside [0, 1]")
    broken_codes = codes.copy()
    broken_codes[0, 0] = np.nan
    decodes = getattr(first, "can_decode", True)
    if decodes:
        _expect_error((ValueError,), lambda: first.decode(broken_codes), "NaN", f"{owner}.decode on NaN codes")
    _expect_error((ValueError,), lambda: first.encode(np.zeros((2, image_shape[0], 7, 7), np.float32)), "shape",
                  f"{owner}.encode with the wrong image size")
    if decodes:
        _expect_error((ValueError,), lambda: first.decode(np.zeros((2, d + 1), np.float32)), "shape",
                      f"{owner}.decode with the wrong code size")

    # --- pickling (e.g. to send a fitted learner to another process) ---------------------------
    revived = pickle.loads(pickle.dumps(first))
    _require(np.array_equal(revived.encode(images), codes), f"{owner} does not survive pickling")

    # --- save / load round trip ----------------------------------------------------------------
    with tempfile.TemporaryDirectory() as run_dir:
        first.save(run_dir)
        loaded = latentscm.load(run_dir, trust_code=[learner_cls.__module__])  # the class under test
        _require(type(loaded) is learner_cls, f"latentscm.load returned {type(loaded).__name__}")
        _require(loaded.get_params() == first.get_params(), "latentscm.load changed the hyperparameters")
        _require(np.array_equal(loaded.encode(images), codes), "latentscm.load gives different codes")
        if decodes:
            _require(np.array_equal(loaded.sample(5, seed=3), generated), "latentscm.load gives different samples")
    report["latent_dim"] = d
    return report
