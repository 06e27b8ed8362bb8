"""The Learner contract shared by every representation learner (scikit-learn style).

Hyperparameters are explicit keyword arguments of ``__init__``, validated there (errors name the
parameter, the class and the value). ``fit`` learns and returns ``self``; learned state ends in an
underscore (``encoder_``, ``decoder_``, ``latent_dim_``, ``image_shape_``, ``history_``).

Public API (arrays are numpy, images float32 (N, C, H, W) in [0, 1]):

- ``fit(data, *, out=None, resume=False, ...) -> self`` — ``data`` is a World, a Batch or an array.
  Training runs in :func:`latentscm.training.train`, the one loop of the library.
- ``encode(x, *, sample=False, seed=None) -> codes (N, D)``: posterior means by default, draws
  from the posterior with ``sample=True`` (seeded). Codes are what the metrics consume.
- ``encode_distribution(x) -> (mean (N, D), logvar (N, D))``; ``kl_per_unit(x) -> (D,)``.
- ``decode(z) -> images (N, C, H, W)``, ``reconstruct(x)``, ``sample(n, *, seed)``.
- ``save(run_dir)``; :func:`latentscm.load` rebuilds a ready learner from the directory.

Hooks the training loop uses (subclasses override a few; the full list, in the order the loop
calls them, is :class:`latentscm.training.protocol.TrainableLearner`):

- ``_module_names()``: the ``nn.Module`` attributes (``"encoder"`` -> ``self.encoder_``).
- ``_optimizer_groups()``: optimiser name -> module names; one optimiser each.
- ``_make_optimizer(group, parameters)``: Adam by default.
- ``loss(images, step) -> StepOutput``: a loss per optimiser plus values to log. The loop owns
  zeroing, backward passes, clipping and stepping, so a learner never steps an optimiser itself.
- ``_net(name)``: the module to call inside ``loss`` (the DistributedDataParallel wrapper
  while training on several processes, the plain module otherwise).
- ``_set_train_nets(nets)`` / ``_clear_train_nets()``: how the loop hands those wrappers over.
- ``_generator``: the torch generator for all training noise; the loop reseeds it every step
  from (seed, step, rank), which makes resuming exact without saving its state.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from torch import nn

from latentscm._params import params_repr
from latentscm._registry import class_path
from latentscm._seeding import seeded_torch
from latentscm._validation import check_array, check_choice, check_number
from latentscm.nn import LIKELIHOODS, ConvDecoder, ConvEncoder, make_likelihood
from latentscm.nn.conv import dense_widths

__all__ = ["Learner", "StepOutput", "NotFittedError", "gaussian_kl", "class_path"]


class NotFittedError(RuntimeError):
    """A learner was used before ``fit`` (or ``latentscm.load``)."""


class StepOutput(NamedTuple):
    """What :meth:`Learner.loss` returns for one minibatch.

    ``losses`` maps each optimiser name (see :meth:`Learner._optimizer_groups`) to the scalar it
    minimises; ``logs`` holds scalars (tensors or floats) to log, e.g. ``{"recon": ..., "kl": ...}``.
    """

    losses: dict[str, torch.Tensor]
    logs: dict[str, torch.Tensor | float]


def _param_texts(params: Mapping[str, Any]) -> dict[str, str]:
    """Hyperparameters as comparable text (``repr`` for what JSON cannot write)."""
    return {k: json.dumps(v, sort_keys=True, default=repr) for k, v in params.items()}


def _param_shown(text: str) -> str:
    """A hyperparameter recorded by :func:`_param_texts`, as Python writes it."""
    try:
        return repr(json.loads(text))
    except ValueError:  # a repr already
        return text


def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) per unit: (N, D) x2 -> (N, D)."""
    return 0.5 * (mean.square() + logvar.exp() - logvar - 1.0)


def _check_channels(value: Any, owner: str) -> tuple[int, ...]:
    message = (f"The 'channels' parameter of {owner} must be a non-empty sequence of ints >= 1. "
               f"Got {value!r} instead.")
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) == 0:
        raise TypeError(message)
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)) or item < 1:
            raise ValueError(message)
    return tuple(int(v) for v in value)


def _check_device(value: Any, owner: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"The 'device' parameter of {owner} must be a string such as 'cpu' or 'cuda'. "
                        f"Got {value!r} instead.")
    try:
        torch.device(value)
    except (RuntimeError, ValueError) as error:
        raise ValueError(f"The 'device' parameter of {owner} must name a torch device ('cpu', 'cuda', "
                         f"'cuda:1', ...). Got {value!r} instead.") from error
    return value


class Learner:
    """Base class of the representation learners; see the module docstring for the contract.

    Parameters
    ----------
    latent_dim : int or None, default 10
        Number of latent units D: codes have shape (N, D) (``None`` only where a subclass
        documents a default).
    likelihood : {"bernoulli", "gaussian"}, default "bernoulli"
        Pixel likelihood.
    channels : sequence of int, default (32, 32, 64, 64)
        Encoder convolution channels (the decoder mirrors them).
    hidden_dim : int or sequence of int, default 256
        Width of the dense layer between convolutions and codes; a sequence gives several dense layers with leaky
        ReLUs (the decoder runs them in reverse): on vector observations ``(C, 1, 1)``, the MLP of the
        nonlinear-ICA literature (:class:`~latentscm.nn.ConvEncoder`). Learners whose networks have one dense
        width (``dense_layers = False``) take an int only.
    lr : float, default 1e-4
        Learning rate.
    batch_size : int, default 64
        Minibatch size per process.
    steps : int, default 3000
        Number of optimisation steps.
    grad_clip : float or None, default None
        Clip the global gradient norm of each optimiser to this value (``None``: off).
    seed : int, default 0
        Seeds initialisation, data order and training noise.
    device : str, default "cpu"
        Torch device to train and infer on (``"cpu"``, ``"cuda"``, ...).
    """

    name: ClassVar[str] = "learner"
    #: "gaussian" for a posterior N(mean, diag(exp(logvar))); "deterministic" for point codes.
    posterior: ClassVar[str] = "gaussian"
    #: Whether the learner renders images from codes (``decode``, ``reconstruct``, ``sample``); an encoder-only
    #: learner (:class:`~latentscm.learners.encoder_only.EncoderOnly`: ContrastiveCRL, MultiViewCRL) has no decoder.
    can_decode: ClassVar[bool] = True
    #: hyperparameter -> the behaviour the class had before the hyperparameter existed, where that is not its
    #: default: a run config recorded without it is loaded and resumed with this value (QLAE's encoder_norm)
    defaults_before: ClassVar[dict[str, Any]] = {}
    #: Whether ``hidden_dim`` may be a sequence of dense widths (the networks of :meth:`_build_modules` here are
    #: :class:`~latentscm.nn.ConvEncoder` and :class:`~latentscm.nn.ConvDecoder`, which take one).
    dense_layers: ClassVar[bool] = True

    def __init__(self, *, latent_dim: int | None = 10, likelihood: str = "bernoulli",
                 channels: Sequence[int] = (32, 32, 64, 64), hidden_dim: int | Sequence[int] = 256,
                 lr: float = 1e-4, batch_size: int = 64, steps: int = 3000, grad_clip: float | None = None,
                 seed: int = 0, device: str = "cpu"):
        self.latent_dim = latent_dim
        self.likelihood = likelihood
        self.channels = channels
        self.hidden_dim = hidden_dim
        self.lr = lr
        self.batch_size = batch_size
        self.steps = steps
        self.grad_clip = grad_clip
        self.seed = seed
        self.device = device
        self._validate()

    # ------------------------------------------------------------------ parameters
    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        names = []
        for parameter in signature.parameters.values():
            if parameter.name == "self":
                continue
            if parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
                raise TypeError(f"{cls.__name__}.__init__ must list its hyperparameters explicitly "
                                f"(no *args/**kwargs).")
            names.append(parameter.name)
        return names

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments of this learner (a plain dict)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Learner:
        """Set hyperparameters (validated); returns ``self``."""
        valid = set(self._param_names())
        for key in params:
            if key not in valid:
                raise ValueError(f"{type(self).__name__} has no hyperparameter {key!r}; valid ones are "
                                 f"{', '.join(sorted(valid))}.")
        previous = dict(self.__dict__)
        for key, value in params.items():
            setattr(self, key, value)
        try:
            self._validate()
        except (TypeError, ValueError):
            # a rejected value leaves the learner as it was, values derived by _validate included
            # (GCRL's latent_dim = z_dim + s_dim)
            self.__dict__.clear()
            self.__dict__.update(previous)
            raise
        return self

    @classmethod
    def unused_parameters(cls, params: Mapping[str, Any]) -> tuple[str, ...]:
        """Names of hyperparameters that the settings ``params`` (constructor keywords) leave unused.

        A preset drops its own values for these (see :meth:`~latentscm.training.presets.Preset.params_for`);
        a learner that refuses unused settings names them. None by default.
        """
        return ()

    def clone(self) -> Learner:
        """A new unfitted learner with the same hyperparameters."""
        return type(self)(**self.get_params())

    def _validate(self) -> None:
        """Check every hyperparameter; subclasses extend (call ``super()._validate()``)."""
        owner = type(self).__name__
        if self.latent_dim is not None or not self._latent_dim_optional():
            self.latent_dim = check_number(self.latent_dim, "latent_dim", owner, low=1, integer=True)
        check_choice(self.likelihood, "likelihood", owner, LIKELIHOODS)
        self.channels = _check_channels(self.channels, owner)
        if isinstance(self.hidden_dim, Sequence) and not isinstance(self.hidden_dim, (str, bytes)):
            if not self.dense_layers:
                raise TypeError(f"The 'hidden_dim' parameter of {owner} must be an int: its networks have one dense "
                                f"width. Got the sequence {self.hidden_dim!r}.")
            self.hidden_dim = dense_widths(self.hidden_dim, owner)
        else:
            self.hidden_dim = check_number(self.hidden_dim, "hidden_dim", owner, low=1, integer=True)
        self.lr = check_number(self.lr, "lr", owner, low=0, low_inclusive=False)
        self.batch_size = check_number(self.batch_size, "batch_size", owner, low=1, integer=True)
        self.steps = check_number(self.steps, "steps", owner, low=1, integer=True)
        if self.grad_clip is not None:
            self.grad_clip = check_number(self.grad_clip, "grad_clip", owner, low=0, low_inclusive=False)
        self.seed = check_number(self.seed, "seed", owner, low=0, high=2**63 - 1, integer=True)
        self.device = _check_device(self.device, owner)

    @classmethod
    def _latent_dim_optional(cls) -> bool:
        return False

    def __repr__(self) -> str:
        return params_repr(self, self.get_params())

    # ------------------------------------------------------------------ building
    def _encoder_outputs(self, latent_dim: int) -> int:
        return 2 * latent_dim if self.posterior == "gaussian" else latent_dim

    def _encoder_norm(self) -> str:
        """The encoder's convolution blocks (:class:`~latentscm.nn.ConvEncoder`'s ``norm``); plain by default."""
        return "none"

    def _module_names(self) -> tuple[str, ...]:
        return ("encoder", "decoder")

    def _optimizer_groups(self) -> dict[str, tuple[str, ...]]:
        return {"model": self._module_names()}

    def _make_optimizer(self, group: str, parameters: list[nn.Parameter] | list[dict[str, Any]]
                        ) -> torch.optim.Optimizer:
        """Adam with the disentanglement_lib settings (betas 0.9/0.999, eps 1e-8) over ``parameters``
        (a list of parameters, or of torch parameter-group dicts with their own ``lr``)."""
        return torch.optim.Adam(parameters, lr=self.lr, betas=(0.9, 0.999), eps=1e-8)

    def _group_grad_clip(self, group: str) -> float | None:
        return self.grad_clip

    def _lr_scale(self, group: str, step: int) -> float | None:
        """The factor on optimiser ``group``'s built learning rate at ``step`` (``None``: no schedule, the rate
        stays as built). A function of the step alone, so a resumed run follows the same schedule."""
        return None

    def _resolve_latent_dim(self, n_factors: int | None) -> int:
        if self.latent_dim is None:
            raise ValueError(f"The 'latent_dim' parameter of {type(self).__name__} is None and the data has no "
                             f"factors to size it from; pass latent_dim explicitly.")
        return int(self.latent_dim)

    def _build_modules(self, image_shape: tuple[int, int, int], latent_dim: int) -> dict[str, nn.Module]:
        """Fresh modules by name (called under a fixed seed)."""
        return {
            "encoder": ConvEncoder(image_shape, self._encoder_outputs(latent_dim), channels=self.channels,
                                   hidden_dim=self.hidden_dim, norm=self._encoder_norm()),
            "decoder": ConvDecoder(latent_dim, image_shape, channels=self.channels, hidden_dim=self.hidden_dim),
        }

    def _torch_device(self) -> torch.device:
        device = torch.device(self.device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"{type(self).__name__} was asked for device={self.device!r} but CUDA is not "
                               f"available here; use device='cpu'.")
        return device

    def _build(self, image_shape: Sequence[int], *, n_factors: int | None = None,
               device: torch.device | str | None = None) -> None:
        """Create fresh modules (initialised from ``seed`` only) and the learned attributes."""
        self.image_shape_ = tuple(int(s) for s in image_shape)
        self.latent_dim_ = self._resolve_latent_dim(n_factors)
        self.n_factors_ = n_factors
        device = torch.device(device) if device is not None else self._torch_device()
        with seeded_torch(self.seed):
            modules = self._build_modules(self.image_shape_, self.latent_dim_)
        for name, module in modules.items():
            setattr(self, f"{name}_", module.to(device))
        # the hyperparameters the modules were built with (see check_saveable)
        self._built_params = _param_texts(self.get_params())
        self._likelihood = make_likelihood(self.likelihood)
        self._generator = torch.Generator(device=device)
        self._generator.manual_seed(self.seed)
        self._train_nets: dict[str, nn.Module] = {}
        self.device_ = device
        self.history_: list[dict[str, Any]] = []
        self.n_steps_ = 0
        self.schedule_steps_ = int(self.steps)  # kept when a resumed run is given more steps

    def check_saveable(self, state: Mapping[str, Any] | None = None) -> None:
        """Raise ``ValueError`` when ``set_params`` changed, after fit, a hyperparameter that the saved model would
        not load with (``channels``, ``latent_dim``, a refiner, ...): :func:`latentscm.load` builds the learner from
        the saved hyperparameters and loads ``state`` (this learner's :meth:`state_dict`) into it. That is done here,
        on the CPU without touching any random state, and the rebuilt learner must hold every saved module with the
        same shapes. Hyperparameters of inference or training only (``ddim_steps``, ``lr``) may change, and so may
        modules grown after fit (a domain ``GCRL.adapt`` added); nothing is rebuilt when no hyperparameter
        differs from the fit's."""
        built = getattr(self, "_built_params", None)
        if built is None:  # objects pickled before the record existed: nothing to compare with
            return
        now = _param_texts(self.get_params())
        changed = sorted(k for k in now if built.get(k) != now[k])
        if not changed:
            return
        state = self.state_dict() if state is None else state
        params = self.get_params()
        if "device" in params:
            params["device"] = "cpu"

        def shapes(modules: Mapping[str, Mapping[str, torch.Tensor]]) -> dict[str, dict[str, tuple[int, ...]]]:
            return {name: {k: tuple(v.shape) for k, v in weights.items()} for name, weights in modules.items()}

        cause: Exception | None = None
        try:
            with torch.random.fork_rng(devices=[]):
                rebuilt = type(self)(**params).load_state_dict(state)
            # every saved module is used, as saved (a dropped EMA UNet would change what the loaded model decodes)
            fits = shapes({k: m.state_dict() for k, m in rebuilt._modules().items()}) == shapes(state["modules"])
        except (RuntimeError, ValueError, KeyError, TypeError, AttributeError) as error:  # load() would fail so
            fits, cause = False, error
        if not fits:
            raise ValueError(f"{type(self).__name__} cannot be saved: set_params changed {', '.join(changed)} after "
                             f"fit, and the modules these values build no longer fit the trained weights (values at "
                             f"fit: " + ", ".join(f"{k}={_param_shown(built[k])}" for k in changed)
                             + "). Set back the ones that shape the modules (not lr or other training settings), "
                               "or fit again, before saving.") from cause

    def _schedule_steps(self) -> int:
        """The run length that step-based schedules (AnnealedVAE's capacity, the acyclicity weight of
        causal learners) are laid out over: ``steps`` of the fit that started the run. Resuming with
        more ``steps`` trains longer on the same schedule (``schedule_steps_``, saved in checkpoints)
        instead of stretching it mid-run."""
        return int(getattr(self, "schedule_steps_", None) or self.steps)

    def _net(self, name: str) -> nn.Module:
        """The module ``name`` as the training loss should call it (DDP-wrapped when distributed)."""
        net = self._train_nets.get(name) if hasattr(self, "_train_nets") else None
        return net if net is not None else getattr(self, f"{name}_")

    def _modules(self) -> dict[str, nn.Module]:
        return {name: getattr(self, f"{name}_") for name in self._module_names()}

    def _set_train_nets(self, nets: Mapping[str, nn.Module]) -> None:
        """The modules as ``loss`` should call them while training (see :meth:`_net`); set by the loop."""
        unknown = sorted(set(nets) - set(self._module_names()))
        if unknown:
            raise ValueError(f"{type(self).__name__} has no modules {unknown}; its modules are "
                             f"{list(self._module_names())}.")
        self._train_nets = dict(nets)

    def _clear_train_nets(self) -> None:
        """Training ended: :meth:`_net` returns the plain modules again."""
        self._train_nets = {}

    #: Whether ``loss`` takes the minibatch's factor labels (``loss(images, step, factors=...)``).
    uses_factors: ClassVar[bool] = False
    #: Whether ``loss`` also takes, for interventional data, the intervened factors of each image
    #: (``loss(images, step, factors=..., targets=(B, K) bool)``).
    uses_targets: ClassVar[bool] = False
    #: Whether ``loss`` takes the domain index of each image (``loss(images, step, domain=(B,) int64)``);
    #: a Batch carries it (e.g. from ``world.sample_domains``); data without one is a single domain 0.
    uses_domain: ClassVar[bool] = False
    #: Whether ``loss`` takes each image's partner (``loss(images, step, pair=(B, C, H, W), changed=(B,) int64
    #: or None)``: a World's counterfactual, drawn as the learner's ``pair_changes`` says, or ImagePairs).
    uses_pairs: ClassVar[bool] = False
    #: Whether every pair a World draws for this learner shares at least one factor (the premise of Ada-GVAE); a
    #: learner of intervention pairs (ILCM) needs every variable intervened on, roots of the whole graph too.
    pairs_share_a_factor: ClassVar[bool] = True
    #: Whether ``loss`` takes the other views of each sample (``loss(images, step, views=(B, K - 1, C, H, W))``,
    #: ``images`` being view 0): a World's views as the learner's ``views`` and ``hidden`` say, or MultiViews.
    uses_views: ClassVar[bool] = False
    #: Whether ``loss`` takes temporal transitions (``loss(images, step, next_images=(B, C, H, W),
    #: next_targets=(B, V) bool)``: the frame after each image and the causal variables intervened on in between);
    #: a TemporalWorld's, or TemporalTransitions.
    uses_transitions: ClassVar[bool] = False

    def _on_training_set(self, training_set: Any) -> None:
        """Told the training set (images, factors, factor names, graph) before modules are built."""

    def _training_factors(self, training_set: Any, device: torch.device) -> torch.Tensor | None:
        """The labels (N, K) that ``loss`` receives per minibatch (only when ``uses_factors``)."""
        return None

    def _on_data(self, n_train: int) -> None:
        """Told the size of the training set before training (β-TCVAE needs it)."""
        self.n_train_ = int(n_train)

    def _extra_state(self) -> dict[str, Any]:
        """Learned state outside the modules' parameters (tensors, numbers, lists) to save."""
        return {"n_train": getattr(self, "n_train_", None), "schedule_steps": self._schedule_steps()}

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        if state.get("n_train") is not None:
            self.n_train_ = int(state["n_train"])
        if state.get("schedule_steps") is not None:  # absent from checkpoints of older versions
            self.schedule_steps_ = int(state["schedule_steps"])

    def _after_fit(self, images: torch.Tensor) -> None:
        """Called once after training with (a subset of) the training images on the device."""

    # ------------------------------------------------------------------ training hook
    def loss(self, images: torch.Tensor, step: int) -> StepOutput:
        """Losses for one minibatch ``images`` (N, C, H, W) at optimisation step ``step``."""
        raise NotImplementedError

    def _reconstruction(self, logits: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """Mean over the batch of the per-image negative log-likelihood (summed over pixels)."""
        return self._likelihood.nll(logits, images).mean()

    def _posterior(self, images: torch.Tensor, net: Callable[[torch.Tensor], torch.Tensor] | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, logvar), each (N, D), of q(z | x) for a Gaussian posterior."""
        out = (net or self.encoder_)(images)
        mean, logvar = out.chunk(2, dim=1)
        return mean, logvar

    def _reparameterise(self, mean: torch.Tensor, logvar: torch.Tensor,
                        generator: torch.Generator) -> torch.Tensor:
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + (0.5 * logvar).exp() * noise

    # ------------------------------------------------------------------ fit
    def fit(self, data: Any, *, out: str | None = None, resume: bool = False, n_samples: int | None = None,
            checkpoint_every: int | None = None, keep_checkpoints: int | None = None, log_every: int | None = None,
            eval_every: int | None = None,
            eval_hook: Callable[[Learner, int], Mapping[str, float] | None] | None = None,
            progress: bool | None = None, deterministic: bool = True, tensorboard: bool | None = None,
            regimes: Any = None, interventional_fraction: float | None = None) -> Learner:
        """Train on ``data`` (a World, a Batch, or images (N, C, H, W) float32 in [0, 1]; pair-trained learners also
        take :class:`~latentscm.data.ImagePairs`, multi-view learners :class:`~latentscm.data.MultiViews`); returns
        ``self``.

        ``out`` is a run directory (config, checkpoints, ``train.jsonl``, ``model.pt``); ``resume``
        continues from its last checkpoint. ``n_samples`` images are pre-rendered when ``data``
        is a World, drawn from ``regimes`` (a Regime, RegimeMixture or list) or with
        ``interventional_fraction`` of them from one random ``do`` regime per factor (interventional
        data with known targets, which causal learners use). See :func:`latentscm.training.train`
        for the other options.
        """
        from latentscm.training import train

        return train(self, data, out=out, resume=resume, n_samples=n_samples, checkpoint_every=checkpoint_every,
                     keep_checkpoints=keep_checkpoints, log_every=log_every, eval_every=eval_every,
                     eval_hook=eval_hook, progress=progress, deterministic=deterministic, tensorboard=tensorboard,
                     regimes=regimes, interventional_fraction=interventional_fraction)

    # ------------------------------------------------------------------ inference
    def _check_fitted(self) -> None:
        if not hasattr(self, "encoder_"):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit(...) or latentscm.load(...) "
                                 f"first.")

    def _images_tensor(self, x: Any, what: str, *, unit_range: bool = True, argument: str = "x") -> torch.Tensor:
        """Images ``x`` (N, C, H, W) (or one (C, H, W), a Batch, a tensor) as a float32 CPU tensor, checked like
        the training data: finite, of the fitted shape and (``unit_range``) in [0, 1] (uint8 pixels 0..255
        would otherwise be encoded as they are). Errors name ``argument``."""
        self._check_fitted()
        images = getattr(x, "images", x)
        if isinstance(images, torch.Tensor):
            images = images.detach().cpu().numpy()
        owner = f"{type(self).__name__}.{what}"
        array = check_array(images, argument, owner, dtype=np.float32)
        if array.ndim == 3 and tuple(array.shape) == self.image_shape_:
            array = array[None]
        if array.ndim != 4 or tuple(array.shape[1:]) != self.image_shape_:
            raise ValueError(f"The '{argument}' argument of {owner} must be images of shape "
                             f"(N, {', '.join(map(str, self.image_shape_))}). Got shape {array.shape}.")
        if unit_range and (array.min() < 0.0 or array.max() > 1.0):
            raise ValueError(f"The '{argument}' argument of {owner} must hold images in [0, 1], as in training. Got "
                             f"values in [{float(array.min()):g}, {float(array.max()):g}]"
                             f"{' (8-bit pixels? divide by 255)' if array.max() > 2.0 else ''}.")
        return torch.from_numpy(np.ascontiguousarray(array))

    def _codes_tensor(self, z: Any, what: str, argument: str = "z") -> torch.Tensor:
        self._check_fitted()
        if isinstance(z, torch.Tensor):
            z = z.detach().cpu().numpy()
        array = check_array(z, argument, f"{type(self).__name__}.{what}", dtype=np.float32)
        if array.ndim == 1 and array.shape[0] == self.latent_dim_:
            array = array[None]
        if array.ndim != 2 or array.shape[1] != self.latent_dim_:
            raise ValueError(f"The '{argument}' argument of {type(self).__name__}.{what} must have shape "
                             f"(N, {self.latent_dim_}). Got shape {array.shape}.")
        return torch.from_numpy(np.ascontiguousarray(array))

    def _batched(self, tensor: torch.Tensor, fn: Callable[[torch.Tensor], Any], chunk: int = 256) -> list[Any]:
        results = []
        modules = self._modules().values()
        modes = [m.training for m in modules]
        for m in modules:
            m.eval()
        try:
            with torch.no_grad():
                for start in range(0, tensor.shape[0], chunk):
                    results.append(fn(tensor[start:start + chunk].to(self.device_)))
        finally:
            for m, mode in zip(modules, modes):
                m.train(mode)
        return results

    def _encode_tensor(self, images: torch.Tensor, sample: bool, generator: torch.Generator | None) -> torch.Tensor:
        """Codes (N, D) of images (N, C, H, W) already on the device."""
        mean, logvar = self._posterior(images)
        return self._reparameterise(mean, logvar, generator) if sample else mean

    def encode(self, x: Any, *, sample: bool = False, seed: int | None = None) -> np.ndarray:
        """Codes (N, D) float32 of images ``x`` (N, C, H, W) (or a Batch).

        Posterior means by default; ``sample=True`` draws z ~ q(z | x) with the given ``seed``.
        """
        images = self._images_tensor(x, "encode")
        generator = None
        if sample and self.posterior == "gaussian":
            generator = self._seeded_generator(seed, "encode")
        parts = self._batched(images, lambda b: self._encode_tensor(b, sample, generator).cpu())
        return torch.cat(parts).numpy().astype(np.float32, copy=False)

    def encode_distribution(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """(mean, logvar), each (N, D) float32, of the Gaussian posterior q(z | x)."""
        if self.posterior != "gaussian":
            raise TypeError(f"{type(self).__name__} has deterministic codes and no posterior distribution; use "
                            f"encode(x).")
        images = self._images_tensor(x, "encode_distribution")
        parts = self._batched(images, lambda b: torch.stack(self._posterior(b)).cpu())
        both = torch.cat(parts, dim=1).numpy().astype(np.float32, copy=False)
        return both[0], both[1]

    def kl_per_unit(self, x: Any) -> np.ndarray:
        """Mean KL(q(z_d | x) || N(0, 1)) over ``x`` for each latent unit d: (D,) float64.

        Units with a KL near zero are inactive (collapsed to the prior).
        """
        mean, logvar = self.encode_distribution(x)
        kl = gaussian_kl(torch.from_numpy(mean).double(), torch.from_numpy(logvar).double())
        return kl.mean(0).numpy()

    def decode(self, z: Any) -> np.ndarray:
        """Mean images (N, C, H, W) float32 in [0, 1] of codes ``z`` (N, D)."""
        codes = self._codes_tensor(z, "decode")
        parts = self._batched(codes, lambda b: self._likelihood.mean(self.decoder_(self._prepare_codes(b))).cpu())
        return torch.cat(parts).numpy().astype(np.float32, copy=False)

    def _prepare_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes as the decoder expects them (QLAE snaps them to its codebook)."""
        return codes

    def reconstruct(self, x: Any) -> np.ndarray:
        """decode(encode(x)): images (N, C, H, W) float32 in [0, 1]."""
        return self.decode(self.encode(x))

    def _prior_sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Codes (n, D) from the prior (standard normal here)."""
        return torch.randn((n, self.latent_dim_), generator=generator)

    def sample(self, n: int, *, seed: int) -> np.ndarray:
        """``n`` generated images (n, C, H, W) float32 in [0, 1], seeded."""
        self._check_fitted()
        n = check_number(n, "n", f"{type(self).__name__}.sample", low=1, integer=True)
        generator = self._seeded_generator(seed, "sample", device="cpu")
        return self.decode(self._prior_sample(n, generator))

    def _seeded_generator(self, seed: Any, what: str, device: Any = None) -> torch.Generator:
        if seed is None:
            raise TypeError(f"{type(self).__name__}.{what} needs a seed (int) to draw random numbers; latentscm "
                            f"never draws from unseeded global randomness.")
        seed = check_number(seed, "seed", f"{type(self).__name__}.{what}", low=0, integer=True)
        generator = torch.Generator(device=device if device is not None else self.device_)
        generator.manual_seed(int(seed))
        return generator

    # ------------------------------------------------------------------ persistence
    def __getstate__(self) -> dict[str, Any]:
        # torch.Generator cannot be pickled and DDP wrappers belong to one process group.
        state = dict(self.__dict__)
        generator = state.pop("_generator", None)
        state.pop("_train_nets", None)
        if generator is not None:
            state["_generator_state"] = (str(generator.device), generator.get_state())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        saved = state.pop("_generator_state", None)
        self.__dict__.update(state)
        self._train_nets = {}
        if saved is not None:
            self._generator = torch.Generator(device=saved[0])
            self._generator.set_state(saved[1])

    def state_dict(self) -> dict[str, Any]:
        """Everything learned: module weights, extra state, shapes (tensors on the CPU)."""
        self._check_fitted()
        return {
            "modules": {name: {k: v.detach().cpu() for k, v in module.state_dict().items()}
                        for name, module in self._modules().items()},
            "extra": self._extra_state(),
            "image_shape": list(self.image_shape_),
            "latent_dim": int(self.latent_dim_),
            "n_factors": self.n_factors_,
            "n_steps": int(self.n_steps_),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> Learner:
        """Build the modules for the recorded shapes and load ``state`` (from :meth:`state_dict`)."""
        self._build(state["image_shape"], n_factors=state.get("n_factors"))
        if int(state["latent_dim"]) != self.latent_dim_:
            raise ValueError(f"Saved state has latent_dim {state['latent_dim']} but {type(self).__name__} was "
                             f"built with {self.latent_dim_}.")
        for name, module in self._modules().items():
            module.load_state_dict(state["modules"][name])
        self._load_extra_state(state.get("extra", {}))
        self.n_steps_ = int(state.get("n_steps", 0))
        return self

    def save(self, run_dir: str) -> str:
        """Write ``model.pt`` and ``config.json`` to ``run_dir``; returns the model path.

        An existing ``config.json`` (a training run's) keeps its other entries; its learner section,
        image shape and latent size are rewritten from this learner. Reload with
        ``latentscm.load(run_dir)``.
        """
        from latentscm.run import save_learner

        return str(save_learner(self, run_dir))

