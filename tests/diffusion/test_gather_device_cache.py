"""NoiseSchedule.gather moves tables to the batch's device; its per-device cache must never serve one
tensor's copy for another (review s25: an id-keyed cache did, once a temporary table died and the next
tensor reused its id). The 'meta' device stands in for a GPU: it keeps shapes, so a stale copy shows
as a wrong shape."""

import torch

from latentscm.diffusion import NoiseSchedule


def test_temporary_tables_are_never_served_stale():
    schedule = NoiseSchedule("cosine", 10)
    like = torch.empty(3, 1, device="meta", dtype=torch.float64)
    t = torch.tensor([0, 4, 9])
    for _ in range(200):  # CPython reuses a freed object's address quickly: id collisions are near certain
        schedule.gather(torch.zeros(10, dtype=torch.float64), t, like)
        out = schedule.gather(torch.zeros(10, 2, dtype=torch.float64), t, like)
        assert tuple(out.shape) == (6, 1)


def test_own_tables_still_cached_and_correct_on_cpu():
    schedule = NoiseSchedule("linear", 100)
    like = torch.empty(3, 2, device="meta")
    first = schedule.gather(schedule.alphas_cumprod, torch.tensor([0, 1, 2]), like)
    assert first.shape == (3, 1) and first.dtype == torch.float32
    assert len(schedule._device_tables) == 1
    schedule.gather(schedule.alphas_cumprod, torch.tensor([5, 6, 7]), like)
    assert len(schedule._device_tables) == 1  # reused, not copied again
    x = torch.zeros(3, 2, dtype=torch.float64)
    picked = schedule.gather(schedule.alphas_cumprod, torch.tensor([0, 50, 99]), x)
    assert torch.equal(picked.reshape(-1), schedule.alphas_cumprod[[0, 50, 99]])
