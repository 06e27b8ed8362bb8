"""interventions.hard_values (a fitted latent model's do) and _devices.check_device (a named device, checked)."""

import pytest
import torch

from latentscm._devices import check_device
from latentscm.interventions import hard_values


def test_hard_values_maps_names_to_indices_and_names_bad_input():
    assert hard_values({"b": 1, "c": -0.5}, ("a", "b", "c"), "fit") == {1: 1.0, 2: -0.5}
    for bad, match in (({}, "non-empty mapping"), ([("a", 1.0)], "non-empty mapping"), ({"d": 1.0}, "'d'"),
                       ({"a": float("nan")}, "interventions\\['a'\\]"), ({"a": "1"}, "interventions\\['a'\\]")):
        with pytest.raises((ValueError, TypeError), match=match):
            hard_values(bad, ["a", "b", "c"], "fit")


def test_check_device_names_bad_devices():
    assert check_device("cpu", "owner") == torch.device("cpu")
    with pytest.raises(ValueError, match="'device' parameter of owner is not a torch device"):
        check_device("gpu7", "owner")
    with pytest.raises(ValueError, match="meta"):
        check_device("meta", "owner")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            check_device("cuda:0", "owner")
    else:
        with pytest.raises(ValueError, match="CUDA device"):
            check_device(f"cuda:{torch.cuda.device_count()}", "owner")
