"""Bring your own data: image folders, ``.npy`` / ``.npz`` arrays and Hugging Face datasets,
imported once into the verified, content-addressed store and trained on like a world.

    from latentscm.data import import_data
    data = import_data("photos/", labels="labels.csv")      # CSV: file,<factor>,... (optional)
    learner.fit(data)                                         # uint8, memory-mapped, verified

Pair-trained learners also take your own pairs (:class:`ImagePairs`), multi-view learners your own
views (:class:`MultiViews`).
"""

from latentscm.data.multi_view import MultiViews
from latentscm.data.pairs import ImagePairs
from latentscm.data.readers import IMAGE_SUFFIXES, DataError
from latentscm.data.store import UserDataset, import_data, load_data
from latentscm.data.transitions import TemporalTransitions

__all__ = ["DataError", "IMAGE_SUFFIXES", "ImagePairs", "MultiViews", "TemporalTransitions", "UserDataset",
           "import_data", "load_data"]
