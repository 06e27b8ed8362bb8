import numpy as np
import pytest
import torch

from latentscm.probes import (
    PotentialFlows,
    cut_at_length,
    direction_baselines,
    factor_concentration,
    factor_sequences,
    laplacian,
    linear_trajectories,
    oracle_readout,
    pair_classifier_accuracy,
    path_lengths,
)
from latentscm.probes.potential_flows import mean_step_norm


def _quadratic(matrix: torch.Tensor):
    """u(z) = 1/2 z^T A z, whose Hessian is the symmetric A everywhere."""
    return lambda z, t: 0.5 * torch.einsum("ni,ij,nj->n", z, matrix, z)


def test_exact_and_official_laplacian_differ():
    a = torch.tensor([[2.0, 1.0, 0.0], [1.0, -1.0, 3.0], [0.0, 3.0, 0.5]], dtype=torch.float64)
    z = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    t = torch.zeros(5, 1, dtype=torch.float64)
    exact = laplacian(_quadratic(a), z.clone(), t, method="exact")
    official = laplacian(_quadratic(a), z.clone(), t, method="official")
    torch.testing.assert_close(exact, torch.full((5,), 1.5, dtype=torch.float64))  # trace(A)
    torch.testing.assert_close(official, a.sum(1).expand(5, 3))  # Hessian row sums, a vector
    assert official.shape == (5, 3) and not torch.allclose(official, exact[:, None].expand(5, 3))
    # u = z0 * z1: the Laplacian is 0 but every official row sum is 1
    product = lambda z, t: z[:, 0] * z[:, 1]  # noqa: E731
    torch.testing.assert_close(laplacian(product, z[:, :2].clone(), t), torch.zeros(5, dtype=torch.float64))
    torch.testing.assert_close(laplacian(product, z[:, :2].clone(), t, method="official"),
                               torch.ones(5, 2, dtype=torch.float64))
    # the two agree only for a Hessian c * I (D = 1 here)
    square = lambda z, t: z[:, 0] ** 2  # noqa: E731
    torch.testing.assert_close(laplacian(square, z[:, :1].clone(), t, method="official")[:, 0],
                               laplacian(square, z[:, :1].clone(), t))


def test_hutchinson_is_unbiased():
    a = torch.tensor([[2.0, 1.0, 0.0], [1.0, -1.0, 3.0], [0.0, 3.0, 0.5]], dtype=torch.float64)
    z = torch.randn(4, 3, dtype=torch.float64)
    t = torch.zeros(4, 1, dtype=torch.float64)
    # one Rademacher probe has variance 2 * sum_{i != j} A_ij^2 = 40: 1500 probes give sd 0.16
    estimate = laplacian(_quadratic(a), z, t, method="hutchinson", n_probes=1500,
                         generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(estimate, torch.full((4,), 1.5, dtype=torch.float64), atol=0.5, rtol=0)
    # for a diagonal Hessian every probe gives the trace exactly
    diagonal = torch.diag(torch.diagonal(a))
    single = laplacian(_quadratic(diagonal), z, t, method="hutchinson", generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(single, torch.full((4,), 1.5, dtype=torch.float64))
    with pytest.raises(ValueError, match="'method'"):
        laplacian(_quadratic(a), z, t, method="trace")


@pytest.fixture(scope="module")
def flows_and_codes():
    from tests.probes.conftest import BlobDecoder

    decoder = BlobDecoder(16)
    codes = np.random.default_rng(0).normal(size=(160, 3)).astype(np.float32)
    flows = PotentialFlows(3, 4, steps=40, batch_size=8, lr=5e-3, seed=0).fit(decoder, codes[:80])
    return flows, decoder, codes


def test_pair_classifier_tells_flows_apart(flows_and_codes):
    flows, decoder, codes = flows_and_codes
    accuracy = flows.pair_accuracy(decoder, codes[80:])
    assert accuracy > 0.6  # chance is 1/3
    assert set(flows.history_[-1]) == {"loss", "wave", "output_change", "classifier", "accuracy", "track"}
    assert flows.history_[-1]["track"] == 0.0  # no sequences: the unsupervised (GAN-trainer) setting


def test_trajectories_shape_and_reproducible(flows_and_codes):
    flows, decoder, codes = flows_and_codes
    paths = flows.trajectories(codes[80:90])
    assert paths.shape == (3, 5, 10, 3)
    np.testing.assert_array_equal(paths[:, 0], np.broadcast_to(codes[80:90], (3, 10, 3)))
    assert mean_step_norm(paths) > 0
    one = PotentialFlows(2, 3, steps=3, batch_size=4, seed=5).fit(decoder, codes[:20])
    two = PotentialFlows(2, 3, steps=3, batch_size=4, seed=5).fit(decoder, codes[:20])
    np.testing.assert_array_equal(one.trajectories(codes[80:84]), two.trajectories(codes[80:84]))


def test_baselines_and_fresh_classifier(blob_decoder):
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(60, 3)) * np.array([3.0, 1.0, 0.1])
    axis = direction_baselines(codes, "axis", 2)
    np.testing.assert_array_equal(axis, np.eye(3)[[0, 1]])
    pca = direction_baselines(codes, "pca", 2)
    np.testing.assert_allclose(pca @ pca.T, np.eye(2), atol=1e-9)
    assert abs(pca[0, 0]) > 0.95
    random = direction_baselines(codes, "random", 3, seed=1)
    np.testing.assert_allclose(np.linalg.norm(random, axis=1), 1.0)
    np.testing.assert_array_equal(random, direction_baselines(codes, "random", 3, seed=1))
    start = rng.normal(size=(40, 3)) * 0.7  # away from the sigmoid's flat tails
    paths = linear_trajectories(start, np.eye(3)[:2], 3, 0.7)
    assert paths.shape == (2, 4, 40, 3)
    assert mean_step_norm(paths) == pytest.approx(0.7, rel=1e-5)
    # moving x versus moving y: a fresh classifier tells them apart on held-out starts
    assert pair_classifier_accuracy(paths, blob_decoder, steps=100, seed=0) > 0.8
    # two copies of one direction cannot be told apart
    same = linear_trajectories(start, np.eye(3)[[0, 0]], 3, 0.7)
    assert pair_classifier_accuracy(same, blob_decoder, steps=100, seed=0) < 0.7


def test_factor_concentration_on_known_directions(oracle_model, sprites16):
    readout = oracle_readout(sprites16)
    codes = oracle_model.encode(sprites16.sample(30, seed=2).images)
    codes[:, :2] = np.clip(codes[:, :2], -1.0, 1.0)  # keep the sprites away from the edges
    axis = linear_trajectories(codes, np.eye(4)[:2], 2, 0.6)
    diagonal = linear_trajectories(codes, np.array([[1.0, 1.0, 0, 0], [1.0, -1.0, 0, 0]]), 2, 0.6)
    pure = factor_concentration(axis, oracle_model.decode, readout, sprites16)
    mixed = factor_concentration(diagonal, oracle_model.decode, readout, sprites16)
    assert pure["dominant"] == ["posX", "posY"]
    assert pure["mean"] > 0.75 > mixed["mean"]
    assert pure["change"].shape == (2, 3)


def test_cut_at_length_resamples_along_the_path():
    # one bent path, (0,0) -> (3,0) -> (3,4): length 7; and one straight path of length 2
    bent = np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 4.0]])
    straight = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    paths = np.stack([bent, straight], axis=1)[None]  # (K=1, T+1=3, N=2, D=2)
    np.testing.assert_allclose(path_lengths(paths), [[7.0, 2.0]])
    cut = cut_at_length(paths, 5.0)
    assert cut.shape == (1, 3, 2, 2)
    np.testing.assert_allclose(cut[0, :, 0], [[0.0, 0.0], [2.5, 0.0], [3.0, 2.0]], atol=1e-6)
    np.testing.assert_allclose(cut[0, :, 1], straight, atol=1e-6)  # shorter than 5: kept whole
    ends = cut_at_length(paths, 3.5, n_points=2)
    np.testing.assert_allclose(ends[0, -1], [[3.0, 0.5], [2.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(cut_at_length(paths, 0.0)[0, -1], 0.0)
    # a path that rests for a step (zero-length segment) is cut where it moves again
    rest = np.array([[0.0, 0.0], [0.0, 0.0], [4.0, 0.0]])[:, None][None]
    np.testing.assert_allclose(cut_at_length(rest, 1.0, n_points=2)[0, -1, 0], [1.0, 0.0], atol=1e-6)
    with pytest.raises(ValueError, match="'length'"):
        cut_at_length(paths, -1.0)
    with pytest.raises(ValueError, match="'n_points'"):
        cut_at_length(paths, 1.0, n_points=1)
    with pytest.raises(ValueError, match="at least 2 steps"):
        cut_at_length(paths[:, :1], 1.0)


def test_bad_input(blob_decoder):
    with pytest.raises(ValueError, match="'laplacian'"):
        PotentialFlows(3, 4, laplacian="trace")
    with pytest.raises(ValueError, match="'n_potentials'"):
        PotentialFlows(1, 4)
    with pytest.raises(TypeError, match="differentiable decoder"):
        PotentialFlows(2, 2, steps=1).fit(object(), np.zeros((4, 3)))

    class NumpyOnly:
        def decode(self, z):
            return z

    with pytest.raises(TypeError, match="differentiable decoder"):
        PotentialFlows(2, 2, steps=1).fit(NumpyOnly(), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="'codes'.*NaN"):
        PotentialFlows(2, 2, steps=1).fit(blob_decoder, np.full((4, 3), np.nan))
    with pytest.raises(RuntimeError, match="not fitted"):
        PotentialFlows(2, 2).trajectories(np.zeros((4, 3)))
    flows = PotentialFlows(2, 2, steps=1, lambda_cls=0.0).fit(blob_decoder, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="3 columns"):
        flows.trajectories(np.zeros((4, 2)))
    with pytest.raises(RuntimeError, match="lambda_cls=0"):
        flows.pair_accuracy(blob_decoder, np.zeros((4, 3)))


def test_tracking_term_ties_each_flow_to_its_sequences(blob_decoder):
    """The official VAE setting: potential k is trained on sequences in which only unit k moves
    (+0.3 per step), so its held-out steps move unit k and hardly the others; without sequences
    the same flows move every unit."""
    rng = np.random.default_rng(0)
    starts = rng.normal(size=(2, 64, 3)).astype(np.float32) * 0.5
    steps = np.arange(4, dtype=np.float32)[None, None, :, None] * 0.3
    sequences = np.repeat(starts[:, :, None, :], 4, axis=2)
    sequences[0, :, :, 0] += steps[0, 0, :, 0]
    sequences[1, :, :, 1] += steps[0, 0, :, 0]
    common = {"steps": 150, "batch_size": 16, "lr": 5e-3, "lambda_cls": 0.0, "lambda_output": 0.0, "seed": 0}
    tracked = PotentialFlows(2, 3, lambda_track=10.0, **common).fit(blob_decoder, starts[0], sequences=sequences)
    held_out = rng.normal(size=(40, 3)).astype(np.float32) * 0.5
    moves = np.abs(np.diff(tracked.trajectories(held_out), axis=1)).mean(axis=(1, 2))  # (K, D)
    for k in (0, 1):
        assert moves[k, k] > 0.2 and moves[k, k] > 4 * np.delete(moves[k], k).max(), moves
    history = [h["track"] for h in tracked.history_]
    assert np.mean(history[-20:]) < 0.2 * np.mean(history[:20])
    with pytest.raises(ValueError, match="'sequences'.*n_steps \\+ 1"):
        PotentialFlows(2, 3, **common).fit(blob_decoder, starts[0], sequences=sequences[:, :, :3])
    with pytest.raises(ValueError, match="'sequences'"):
        PotentialFlows(3, 3, **common).fit(blob_decoder, starts[0], sequences=sequences)


def test_factor_sequences_move_one_factor_exactly(oracle_model, sprites16):
    sequences = factor_sequences(oracle_model.encode, sprites16, ["posX", "posY"], 12, 3, seed=0)
    assert sequences.shape == (2, 12, 4, 4) and sequences.dtype == np.float32
    steps = np.diff(sequences, axis=2)
    # posX moves its unit (z0) only and never backwards (adjacent grid values can share a pixel at 16 px, and the
    # oracle's read-out clips near the edges); posY moves z1
    assert np.all(steps[0, :, :, 0] >= 0) and np.mean(steps[0, :, :, 0].sum(axis=1) > 0) > 0.6
    assert np.all(steps[1, :, :, 1] >= 0) and np.mean(steps[1, :, :, 1].sum(axis=1) > 0) > 0.6
    assert np.abs(steps[0, :, :, 1:]).max() < 1e-6 and np.abs(steps[1][..., [0, 2, 3]]).max() < 1e-6
    np.testing.assert_array_equal(sequences, factor_sequences(oracle_model.encode, sprites16, ["posX", "posY"], 12, 3,
                                                              seed=0))
    with pytest.raises(ValueError, match="'factors'.*'hue'"):
        factor_sequences(oracle_model.encode, sprites16, ["hue"], 4, 3)
    with pytest.raises(ValueError, match="'scale' has 6 grid values"):
        factor_sequences(oracle_model.encode, sprites16, ["scale"], 4, 6)


class _NoisyDecoder(torch.nn.Module):
    """A blob decoder behind batch norm and dropout, as a user's decoder may be, left in train mode."""

    def __init__(self, blob: torch.nn.Module):
        super().__init__()
        self.mix = torch.nn.Linear(3, 3)
        self.norm = torch.nn.BatchNorm1d(3)
        self.drop = torch.nn.Dropout(0.5)
        self.blob = blob

    def forward(self, z):
        return self.blob(self.drop(self.norm(self.mix(z))))


def test_the_decoder_is_frozen_in_eval_mode_and_left_as_it_was(blob_decoder):
    decoder = _NoisyDecoder(blob_decoder).train()
    before = {name: p.detach().clone() for name, p in decoder.named_parameters()}
    norm_state = {k: v.clone() for k, v in decoder.norm.state_dict().items()}
    codes = np.random.default_rng(0).standard_normal((24, 3)).astype(np.float32)
    runs = []
    for global_seed in (1, 2):  # dropout would draw from the global RNG in train mode
        torch.manual_seed(global_seed)
        flows = PotentialFlows(2, 3, steps=3, batch_size=4, seed=0).fit(decoder, codes[:12])
        runs.append((flows.trajectories(codes[12:]), flows.pair_accuracy(decoder, codes[12:])))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    # modes, flags, weights and batch-norm statistics are as the caller left them; no gradient leaked in
    assert decoder.training and all(m.training for m in decoder.modules())
    assert all(p.requires_grad and p.grad is None for p in decoder.parameters())
    for name, p in decoder.named_parameters():
        torch.testing.assert_close(p.detach(), before[name])
    for key, value in decoder.norm.state_dict().items():
        torch.testing.assert_close(value, norm_state[key])


def test_nothing_behind_a_plain_callable_gets_a_gradient(blob_decoder):
    inner = torch.nn.Linear(3, 3)
    flows = PotentialFlows(2, 2, steps=2, batch_size=4, seed=0)
    flows.fit(lambda z: blob_decoder(inner(z)), np.random.default_rng(0).standard_normal((8, 3)))
    assert all(p.grad is None for p in inner.parameters())
    assert all(p.grad is not None for p in flows.potentials_.parameters() if p.requires_grad)


def test_a_decoder_without_a_gradient_in_the_codes_is_refused(blob_decoder):
    snapped = lambda z: blob_decoder(torch.round(z))  # noqa: E731 - quantised codes, as QLAE's codebook snap
    codes = np.random.default_rng(0).standard_normal((8, 3))
    with pytest.raises(TypeError, match="differentiable in the codes.*lambda_output=0 and lambda_cls=0"):
        PotentialFlows(2, 2, steps=1).fit(snapped, codes)
    # the wave and tracking terms alone need no decoder gradient
    PotentialFlows(2, 2, steps=1, lambda_output=0.0, lambda_cls=0.0).fit(snapped, codes)


def test_laplacian_leaves_the_caller_s_tensor_alone():
    z = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    laplacian(_quadratic(torch.eye(3)), z, torch.zeros(4, 1))
    assert not z.requires_grad


def test_pair_classifier_accuracy_checks_its_training_settings(blob_decoder):
    paths = np.zeros((2, 3, 4, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="'batch_size'"):
        pair_classifier_accuracy(paths, blob_decoder, batch_size=0)
    with pytest.raises(ValueError, match="'lr'"):
        pair_classifier_accuracy(paths, blob_decoder, lr=-1.0)


def test_baselines_refuse_what_they_cannot_give():
    codes = np.random.default_rng(0).standard_normal((3, 6))
    with pytest.raises(ValueError, match="'n_directions'.*N - 1 = 2.*Got 5"):
        direction_baselines(codes, "pca", 5)
    assert direction_baselines(codes, "pca", 2).shape == (2, 6)
    directions = np.eye(6)[:3]
    directions[1] = 0
    with pytest.raises(ValueError, match="'directions'.*zero rows \\[1\\]"):
        linear_trajectories(codes, directions, 2, 0.5)
