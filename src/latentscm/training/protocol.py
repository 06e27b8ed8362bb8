"""The training protocol: everything the one training loop asks of a learner, declared in one place.

:func:`latentscm.training.train` runs any object that follows :class:`TrainableLearner`; every
:class:`~latentscm.learners.base.Learner` does (the base class implements each hook, a learner
overrides the few it needs and always :meth:`TrainableLearner.loss`). The loop touches nothing else
of the learner: hooks are called in this order

1. before any data is prepared: ``_torch_device()``;
2. ``_on_training_set(training_set)`` — told the images, factors, names and graph;
3. ``_build(image_shape, n_factors=..., device=...)`` — fresh modules ``<name>_`` for every name of
   ``_module_names()``, plus the built state of :data:`BUILT_ATTRIBUTES`;
4. ``_on_data(n_train)``; ``get_params()`` (the run config); ``_training_factors(training_set,
   device)`` when ``uses_factors``;
5. ``_optimizer_groups()``, ``_make_optimizer(group, parameters)``, ``_group_grad_clip(group)``
   (a call rejected during steps 2-5 or while restoring a checkpoint, e.g. a batch size larger than
   the data, puts the learner's attributes back as they were: a fitted learner stays fitted);
6. ``_set_train_nets(nets)`` (the modules as the loss should call them, DDP-wrapped when
   distributed), then per step: ``_generator.manual_seed(...)`` and ``loss(images, step[, factors=,
   targets=][, domain=])`` (``domain=`` (B,) int64 only for a learner whose optional class flag
   ``uses_domain`` is True, from the training set's domain index; ``pair=`` (B, C, H, W) float32, and
   ``changed=`` (B,) int64 where the pairs say how many factors they differ in, only for one whose
   ``uses_pairs`` is True: each image's partner, a World's exact counterfactual drawn as its
   ``pair_changes`` says, or the user's ``ImagePairs``; ``views=`` (B, K - 1, C, H, W) float32 only for one
   whose ``uses_views`` is True: the other views of each sample, the images being view 0, a World's rendered
   as its ``views`` and ``hidden`` say, or the user's ``MultiViews``; ``next_images=`` (B, C, H, W) float32 and
   ``next_targets=`` (B, V) bool only for one whose ``uses_transitions`` is True: the frame after each image and
   the causal variables intervened on in between, a TemporalWorld's or the user's ``TemporalTransitions``);
   before each optimiser step ``_lr_scale(group, step)`` (a factor on the group's built learning rate, or
   ``None`` to leave it); ``_clear_train_nets()`` when the loop ends, also on error;
7. checkpoints: ``state_dict()``; resuming: ``_modules()`` and ``_load_extra_state(extra)``;
8. after training: the loop sets ``n_steps_``, ``history_`` and ``training_data_`` (the run config's
   ``data`` entry, which a later ``save`` elsewhere records), then calls ``_after_fit(images)`` and
   ``save(run_dir)``.

:func:`check_training_protocol` verifies a learner (or class) before training, and
``latentscm.testing.check_learner`` runs it, so a learner that lacks a hook fails with a message
that names it instead of an ``AttributeError`` deep inside the loop.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from latentscm.exceptions import LatentSCMError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from latentscm.learners.base import StepOutput

__all__ = ["BUILT_ATTRIBUTES", "TRAINING_ATTRIBUTES", "TRAINING_HOOKS", "TrainableLearner", "TrainingProtocolError",
           "check_built", "check_training_protocol"]


class TrainingProtocolError(LatentSCMError, TypeError):
    """A learner does not follow the training protocol (a hook is missing, not callable, not
    implemented, or takes the wrong arguments)."""


class TrainableLearner(Protocol):
    """What :func:`latentscm.training.train` needs of a learner (see the module docstring for the order)."""

    #: Optimisation steps, minibatch size and seed (hyperparameters).
    steps: int
    batch_size: int
    seed: int
    #: Whether ``loss`` takes the minibatch's factor labels (``factors=``) ...
    uses_factors: ClassVar[bool]
    #: ... and, for interventional data, which factors were intervened on (``targets=``).
    uses_targets: ClassVar[bool]

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments (recorded in the run config)."""

    def _torch_device(self) -> torch.device:
        """The device the hyperparameters ask for (an error if it is unavailable)."""

    def _on_training_set(self, training_set: Any) -> None:
        """Told the training set (:class:`~latentscm.training.data.TrainingSet`) before building."""

    def _build(self, image_shape: Sequence[int], *, n_factors: int | None = None,
               device: torch.device | str | None = None) -> None:
        """Create fresh modules ``<name>_`` and the state in :data:`BUILT_ATTRIBUTES`."""

    def _on_data(self, n_train: int) -> None:
        """Told the number of training images."""

    def _training_factors(self, training_set: Any, device: torch.device) -> torch.Tensor | None:
        """The labels (N, K) that ``loss`` receives per minibatch (when ``uses_factors``)."""

    def _module_names(self) -> tuple[str, ...]:
        """Names of the trained modules (``"encoder"`` is the attribute ``encoder_``)."""

    def _modules(self) -> dict[str, nn.Module]:
        """The trained modules by name."""

    def _optimizer_groups(self) -> dict[str, tuple[str, ...]]:
        """Optimiser name -> module names; one optimiser and one loss each."""

    def _make_optimizer(self, group: str, parameters: list[nn.Parameter]) -> torch.optim.Optimizer:
        """The optimiser of ``group`` over ``parameters``."""

    def _group_grad_clip(self, group: str) -> float | None:
        """Gradient-norm clip of ``group`` (``None``: no clipping)."""

    def _lr_scale(self, group: str, step: int) -> float | None:
        """Factor on ``group``'s built learning rate at ``step`` (``None``: no schedule)."""

    def _set_train_nets(self, nets: Mapping[str, nn.Module]) -> None:
        """The modules as ``loss`` should call them while training (DDP wrappers or the modules)."""

    def _clear_train_nets(self) -> None:
        """Training ended: ``loss`` and inference call the plain modules again."""

    def loss(self, images: torch.Tensor, step: int) -> StepOutput:
        """Losses for one minibatch (one per optimiser group) and values to log. Learners with
        ``uses_factors`` also take ``factors=`` (B, K), with ``uses_targets`` also ``targets=``."""

    def state_dict(self) -> dict[str, Any]:
        """Module weights and extra state (for checkpoints)."""

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        """Restore the extra state of a checkpoint."""

    def _after_fit(self, images: torch.Tensor) -> None:
        """Called once after training with (a subset of) the training images on the device."""

    def save(self, run_dir: str) -> str:
        """Write the trained model into ``run_dir``."""


def _members(kind: str) -> dict[str, str]:
    """Names of the protocol's methods (``"hooks"``) or plain attributes (``"attributes"``), with their docs."""
    members: dict[str, str] = {}
    for name, value in vars(TrainableLearner).items():
        # typing adds helper functions of its own to a Protocol's namespace; keep the declared ones
        if kind == "hooks" and inspect.isfunction(value) and value.__qualname__ == f"TrainableLearner.{name}":
            members[name] = inspect.getdoc(value) or ""
    if kind == "attributes":
        members = {name: "" for name in TrainableLearner.__annotations__}
    return members


#: Methods the loop calls, name -> what it does.
TRAINING_HOOKS: dict[str, str] = _members("hooks")
#: Hyperparameters and class flags the loop reads before building.
TRAINING_ATTRIBUTES: tuple[str, ...] = tuple(_members("attributes"))
#: State ``_build`` must create (besides the modules): the noise generator the loop reseeds every
#: step, and the image shape and latent size recorded in the run config.
BUILT_ATTRIBUTES: tuple[str, ...] = ("_generator", "image_shape_", "latent_dim_")


def check_training_protocol(learner: Any) -> None:
    """Check that ``learner`` (an instance or a class) follows :class:`TrainableLearner`.

    Parameters
    ----------
    learner : object or type
        The learner (or its class) about to be trained.

    Raises
    ------
    TrainingProtocolError
        Hooks or attributes are missing or not callable, ``loss`` is not implemented (still the
        base class's), or ``loss`` does not accept the ``factors=``/``targets=`` keywords its
        ``uses_factors``/``uses_targets`` flags promise. The message names every problem.
    """
    cls = learner if isinstance(learner, type) else type(learner)
    owner = cls.__name__
    problems: list[str] = []
    missing = [name for name in TRAINING_HOOKS if not callable(getattr(cls, name, None))]
    if missing:
        problems.append(f"missing or non-callable hooks {', '.join(missing)}")
    attributes = [name for name in TRAINING_ATTRIBUTES
                  if not hasattr(learner, name) and name not in ("steps", "batch_size", "seed")]
    if not isinstance(learner, type):
        attributes += [name for name in ("steps", "batch_size", "seed") if not hasattr(learner, name)]
    if attributes:
        problems.append(f"missing attributes {', '.join(attributes)}")
    loss = getattr(cls, "loss", None)
    if callable(loss):
        if _is_base_loss(cls):
            problems.append("loss(images, step) is not implemented (it is still Learner.loss)")
        else:
            problems += _loss_signature_problems(cls, loss)
    if getattr(cls, "uses_pairs", False) and not _has_parameter(learner, "pair_changes"):
        problems.append("uses_pairs is True but it has no 'pair_changes' (how its training pairs are drawn)")
    if getattr(cls, "uses_views", False) and not _has_parameter(learner, "views"):
        problems.append("uses_views is True but it has no 'views' (the factors each view shows)")
    if problems:
        raise TrainingProtocolError(
            f"{owner} does not follow the training protocol (latentscm.training.protocol.TrainableLearner): "
            f"{'; '.join(problems)}.")


def check_built(learner: Any) -> None:
    """Check the state ``_build`` must create: every module ``<name>_`` of ``_module_names()`` and
    :data:`BUILT_ATTRIBUTES`.

    Raises
    ------
    TrainingProtocolError
        Something the loop needs was not created by ``_build``; the message names it.
    """
    expected = [f"{name}_" for name in learner._module_names()] + list(BUILT_ATTRIBUTES)
    missing = [name for name in expected if getattr(learner, name, None) is None]
    if missing:
        raise TrainingProtocolError(f"{type(learner).__name__}._build did not create {', '.join(missing)}, which the "
                                    f"training loop needs (see latentscm.training.protocol).")


def _is_base_loss(cls: type) -> bool:
    """Whether ``cls.loss`` is the Learner base class's unimplemented hook (recognised by the
    function's own module and name, so this module need not import the learners: no cycle)."""
    loss = getattr(cls, "loss", None)
    return (getattr(loss, "__module__", None) == "latentscm.learners.base"
            and getattr(loss, "__qualname__", None) == "Learner.loss")


def _has_parameter(learner: Any, name: str) -> bool:
    """Whether ``learner`` has ``name`` (a class: as an attribute or an ``__init__`` parameter)."""
    if hasattr(learner, name):
        return True
    if not isinstance(learner, type):
        return False
    try:
        return name in inspect.signature(learner.__init__).parameters
    except (TypeError, ValueError):
        return False


def _loss_signature_problems(cls: type, loss: Any) -> list[str]:
    try:
        parameters = inspect.signature(loss).parameters
    except (TypeError, ValueError):  # builtins without a signature: nothing to check
        return []
    kinds = {p.kind for p in parameters.values()}
    if inspect.Parameter.VAR_KEYWORD in kinds:
        return []
    problems = []
    for flag, keyword in (("uses_factors", "factors"), ("uses_targets", "targets"), ("uses_domain", "domain"),
                          ("uses_pairs", "pair"), ("uses_pairs", "changed"), ("uses_views", "views"),
                          ("uses_transitions", "next_images"), ("uses_transitions", "next_targets")):
        if getattr(cls, flag, False) and keyword not in parameters:
            problems.append(f"{flag} is True but loss() takes no {keyword!r} keyword")
    return problems
