"""Active inference on worlds with exact rendering: an agent moves an object's pose toward a goal
view by minimising expected free energy under a learned world model.

* :mod:`~latentscm.active.environment` — :class:`PoseEnvironment` (state = the world's factors,
  actions = bounded pose steps, observations = exact renders, a goal view);
* :mod:`~latentscm.active.transitions` — seeded ``(o_t, a_t, o_t+1)`` data;
* :mod:`~latentscm.active.world_model` — the VAE-with-transition base, its free energy and training;
* :mod:`~latentscm.active.factorised` / :mod:`~latentscm.active.entangled` — the shape/pose
  factorised model (Ferraro et al. 2022) and the entangled baseline;
* :mod:`~latentscm.active.efe` — expected free energy of enumerated policies;
* :mod:`~latentscm.active.agents` — :class:`EFEAgent` and :class:`RandomAgent`;
* :mod:`~latentscm.active.episodes` — episodes and the comparison of agents over the same goals;
* :mod:`~latentscm.active.experiment` — train both models into a run directory, evaluate agents on it;
* :mod:`~latentscm.active.pose_visibility` — whether a model's posterior moves with the pose at all.
"""

from latentscm.active.agents import EFEAgent, RandomAgent
from latentscm.active.efe import ExpectedFreeEnergy, enumerate_policies, expected_free_energy
from latentscm.active.entangled import EntangledModel
from latentscm.active.environment import DEFAULT_POSE_FACTORS, PoseEnvironment
from latentscm.active.episodes import EpisodeResult, compare_agents, replay, run_episode, summarise_episodes
from latentscm.active.experiment import evaluate_run, open_run, train_world_models
from latentscm.active.factorised import FactorisedModel
from latentscm.active.pose_visibility import pose_visibility
from latentscm.active.registry import REGISTRY, load_world_model, make, names
from latentscm.active.transitions import Transitions, sample_transitions
from latentscm.active.world_model import NotFittedError, WorldModel

__all__ = [
    "DEFAULT_POSE_FACTORS",
    "EFEAgent",
    "EntangledModel",
    "EpisodeResult",
    "ExpectedFreeEnergy",
    "FactorisedModel",
    "NotFittedError",
    "PoseEnvironment",
    "REGISTRY",
    "RandomAgent",
    "Transitions",
    "WorldModel",
    "compare_agents",
    "enumerate_policies",
    "evaluate_run",
    "expected_free_energy",
    "load_world_model",
    "make",
    "names",
    "open_run",
    "pose_visibility",
    "replay",
    "run_episode",
    "sample_transitions",
    "summarise_episodes",
    "train_world_models",
]
