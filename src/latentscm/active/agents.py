"""Agents that act in a :class:`~latentscm.active.environment.PoseEnvironment`: the active-inference
agent that minimises expected free energy toward the goal view, and a random-policy baseline.

Both follow one small protocol, driven by :func:`latentscm.active.episodes.run_episode`:
``reset(observation, goal_image)`` at the start of an episode, ``act() -> int`` for the next
action, ``observe(observation)`` after each step. The active-inference agent (Friston et al.
2017, "Active inference: a process theory"; Parr & Friston 2019) keeps a belief over its world
model's latent state: each observation is explained by the posterior ``q(s | o)`` against the
prior its transition predicted from the previous belief and action, which gives the variational
free energy of every observation (inaccuracy + complexity, recorded in ``free_energy_`` and
``complexity_``); it then scores every action sequence of length ``horizon`` by expected free
energy (:func:`latentscm.active.efe.expected_free_energy`) and takes the first action of the best.
"""

from __future__ import annotations

import numpy as np

from latentscm._validation import as_generator, check_number
from latentscm.active.efe import enumerate_policies, expected_free_energy
from latentscm.active.world_model import WorldModel

__all__ = ["EFEAgent", "RandomAgent"]


class EFEAgent:
    """Pick actions that minimise expected free energy toward a goal view.

    Parameters
    ----------
    model : WorldModel
        A fitted world model whose action set is the environment's.
    horizon : int, default 2
        Length of the action sequences scored (all ``A ** horizon`` are enumerated).
    ambiguity_weight : float, default 1.0
        Weight of the ambiguity term of the expected free energy.
    """

    def __init__(self, model: WorldModel, *, horizon: int = 2, ambiguity_weight: float = 1.0):
        if not isinstance(model, WorldModel):
            raise TypeError(f"The 'model' argument of EFEAgent must be a WorldModel. Got {type(model).__name__}.")
        model._check_fitted()
        self.model = model
        self.horizon = check_number(horizon, "horizon", "EFEAgent", low=1, integer=True)
        self.ambiguity_weight = check_number(ambiguity_weight, "ambiguity_weight", "EFEAgent", low=0)
        self.policies_ = enumerate_policies(model.n_actions_, self.horizon)

    def reset(self, observation: np.ndarray, goal_image: np.ndarray) -> None:
        """Start an episode: infer the goal view's belief (the preferred state) and explain the
        first observation against the standard normal prior. Each is one image, (C, H, W) or
        (1, C, H, W)."""
        for what, image in (("observation", observation), ("goal_image", goal_image)):
            shape = np.shape(image)
            if len(shape) == 4 and shape[0] != 1:
                raise ValueError(f"The {what!r} argument of EFEAgent.reset must be one image, (C, H, W) or "
                                 f"(1, C, H, W). Got {shape[0]} images, shape {shape}.")
        goal_mean, goal_logvar = self.model.infer(goal_image)
        self.goal_ = (goal_mean[0], goal_logvar[0])
        self.free_energy_: list[float] = []
        self.complexity_: list[float] = []
        self.last_action_: int | None = None
        self._pending_action: int | None = None  # the action the next observe follows (None: observed already)
        self._explain(observation, prior=None)

    def _explain(self, observation: np.ndarray, prior) -> None:
        terms = self.model.free_energy(observation, prior)
        self.free_energy_.append(float(terms["free_energy"][0]))
        self.complexity_.append(float(terms["complexity"][0]))
        mean, logvar = self.model.infer(observation)
        self.belief_ = (mean[0], logvar[0])

    def plan(self):
        """Expected free energy of every policy from the current belief
        (:class:`~latentscm.active.efe.ExpectedFreeEnergy`, one score per row of ``policies_``)."""
        if not hasattr(self, "belief_"):
            raise RuntimeError("EFEAgent.plan called before reset(observation, goal_image).")
        return expected_free_energy(self.model, self.belief_, self.goal_, self.policies_,
                                    ambiguity_weight=self.ambiguity_weight)

    def act(self) -> int:
        """The first action of the policy with the lowest expected free energy (ties: the first
        in :func:`~latentscm.active.efe.enumerate_policies` order)."""
        scores = self.plan()
        self.last_action_ = int(self.policies_[int(np.argmin(scores.total)), 0])
        self._pending_action = self.last_action_
        return self.last_action_

    def observe(self, observation: np.ndarray) -> None:
        """Update the belief with the observation that followed the last action (once per :meth:`act`)."""
        if not hasattr(self, "belief_"):
            raise RuntimeError("EFEAgent.observe called before reset(observation, goal_image).")
        if self._pending_action is None:
            raise RuntimeError("EFEAgent.observe called before act() (each observation follows one action).")
        prior = self.model.predict(self.belief_[0][None], self.belief_[1][None], np.array([self._pending_action]))
        self._explain(observation, prior=prior)
        # consumed: a second observe without an act would explain it by a step the environment never took
        self._pending_action = None

    def __repr__(self) -> str:
        return f"EFEAgent({self.model.name}, horizon={self.horizon}, ambiguity_weight={self.ambiguity_weight})"


class RandomAgent:
    """Uniformly random actions (seeded); it has no model, so it records no free energy.

    Parameters
    ----------
    n_actions : int
        Size of the action set.
    seed : int
        Seeds the action draws (the generator persists across episodes).
    """

    def __init__(self, n_actions: int, *, seed: int):
        self.n_actions = check_number(n_actions, "n_actions", "RandomAgent", low=1, integer=True)
        self.seed = seed
        self._rng = as_generator(seed)
        self.free_energy_: list[float] = []
        self.complexity_: list[float] = []

    def reset(self, observation: np.ndarray, goal_image: np.ndarray) -> None:
        """Start an episode (the observations are ignored)."""
        self.free_energy_, self.complexity_ = [], []

    def act(self) -> int:
        """A uniformly random action."""
        return int(self._rng.integers(0, self.n_actions))

    def observe(self, observation: np.ndarray) -> None:
        """Ignore the observation."""

    def __repr__(self) -> str:
        return f"RandomAgent(n_actions={self.n_actions}, seed={self.seed})"
