"""Training from the store keeps the uint8 images (value / 255) and converts per minibatch: no
float32 copy of the whole set, bit-identical results, exact resume; float32 data is untouched."""

import numpy as np
import pytest
import torch

from latentscm.learners.vae import BetaVAE
from latentscm.testing.learner_checks import tiny_params
from latentscm.training.data import ShardedBatches, as_training_set, float_images
from latentscm.worlds import make
from latentscm.worlds.batch import Batch


class Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    return make("sprites", size=16).generate(n=96, seed=5, root=tmp_path_factory.mktemp("store"))


def _weights(learner):
    return {f"{n}.{k}": v.clone() for n, m in learner._modules().items() for k, v in m.state_dict().items()}


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def _as_float_batch(stored):
    """The whole store read the old way (float32 images, as StoredDataset.batch returns them)."""
    whole = stored.batch(slice(0, len(stored)))
    return Batch(whole.images, whole.factors, whole.noise, whole.factor_names)


def test_training_set_from_the_store_keeps_uint8_memory_mapped(stored):
    training_set = as_training_set(stored, n_samples=None, seed=0, owner="test")
    assert training_set.images.dtype == np.uint8 and training_set.images.shape == stored.images.shape
    assert isinstance(training_set.images, np.memmap)  # file-backed pages, not a copy in memory
    np.testing.assert_array_equal(training_set.images, stored.images)
    np.testing.assert_array_equal(training_set.factors, stored.factors)
    assert training_set.factor_names == stored.factor_names and training_set.image_shape == (1, 16, 16)
    assert training_set.source["dataset_key"] == stored.manifest["key"]


def test_float_images_is_exactly_the_store_encoding(stored):
    values = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 16, 16)
    expected = np.arange(256, dtype=np.float32) / np.float32(255.0)
    assert torch.equal(float_images(values).flatten(), torch.from_numpy(expected))
    assert float_images(values).dtype == torch.float32
    floats = torch.rand(2, 1, 4, 4)
    assert float_images(floats) is floats  # float32 data passes through untouched


def test_minibatches_equal_the_stores_float_reading(stored):
    training_set = as_training_set(stored, n_samples=None, seed=0, owner="test")
    uint8 = ShardedBatches(torch.from_numpy(training_set.images), 16, seed=3)
    reference = torch.from_numpy(_as_float_batch(stored).images)
    floats = ShardedBatches(reference, 16, seed=3)
    for step in (0, 1, 7, 13):
        batch = uint8.batch(step)
        assert batch.dtype == torch.float32
        assert torch.equal(batch, floats.batch(step))
        rows = uint8.indices(step).numpy()
        assert torch.equal(batch, torch.from_numpy(stored.batch(np.sort(rows)).images)[np.argsort(np.argsort(rows))])


def test_float32_batches_are_unchanged():
    images = torch.rand(40, 1, 8, 8)
    batches = ShardedBatches(images, 8, seed=1)
    for step in (0, 4, 9):
        assert torch.equal(batches.batch(step), images.index_select(0, batches.indices(step)))


def test_training_from_the_store_is_bit_identical_to_float32_data(stored):
    params = tiny_params(BetaVAE, steps=6)
    from_store = BetaVAE(**params).fit(stored, progress=False)
    from_floats = BetaVAE(**params).fit(_as_float_batch(stored), progress=False)
    _assert_same(_weights(from_store), _weights(from_floats))


def test_training_from_the_store_resumes_exactly(stored, tmp_path):
    params = tiny_params(BetaVAE, steps=8)
    reference = BetaVAE(**params).fit(stored, out=tmp_path / "a", checkpoint_every=2, progress=False)

    def stop_at_5(learner, step):
        if step == 5:
            raise Interrupt

    with pytest.raises(Interrupt):
        BetaVAE(**params).fit(stored, out=tmp_path / "b", checkpoint_every=2, eval_every=1, eval_hook=stop_at_5,
                              progress=False)
    resumed = BetaVAE(**params).fit(stored, out=tmp_path / "b", resume=True, checkpoint_every=2, progress=False)
    _assert_same(_weights(reference), _weights(resumed))


def test_a_stored_multi_domain_dataset_keeps_its_domains(tmp_path):
    """A dataset generated from a world's domain regimes records each image's domain; training on it
    passes those domains on (GCRL / ILDVAE learn one prior per domain), as the same images in a Batch do."""
    from latentscm.learners import make as make_learner
    from latentscm.worlds import DomainShift

    world = make("hue-sprites", size=16, n_positions=4, domains=DomainShift(3, shifted=("hue",), strength=1.5, seed=0))
    stored = world.generate(12, seed=0, root=tmp_path, regime=list(world._domain_regimes), cache_key="hue3")
    training = as_training_set(stored, n_samples=None, seed=0, owner="test")
    np.testing.assert_array_equal(training.domain, stored.domain)
    assert set(stored.domain.tolist()) == {0, 1, 2}
    learner = make_learner("ild_vae", latent_dim=3, k=1, channels=(4, 8), hidden_dim=16, batch_size=4, steps=1)
    assert learner.fit(stored, progress=False).n_domains_ == 3


def test_n_samples_other_than_the_datas_length_is_refused_not_ignored():
    """Regression: fit(batch, n_samples=16) trained on the whole 64-image batch without a word."""
    from latentscm.training.data import as_training_set
    from latentscm.worlds import make

    batch = make("sprites", size=16).sample(64, seed=0)
    with pytest.raises(ValueError, match=r"'n_samples' argument of fit .*used whole \(64 images\). Got n_samples=16"):
        as_training_set(batch, n_samples=16, seed=0, owner="fit")
    assert len(as_training_set(batch, n_samples=64, seed=0, owner="fit").images) == 64  # its own length: fine
    with pytest.raises(ValueError, match="n_samples=8"):
        as_training_set(batch.images, n_samples=8, seed=0, owner="fit")


def test_a_multi_domain_world_trains_on_every_domain_and_is_rebuilt_on_resume(tmp_path):
    """Regression: fit(world.with_domains(...)) trained on domain 0 only, without a word. Now it draws
    n_samples // n_domains images from each domain (as world.sample_domains), records the shift, and
    resume rebuilds the same multi-domain world."""
    from latentscm.learners import make as make_learner
    from latentscm.run import read_config
    from latentscm.training.data import DATA_SEED_OFFSET, as_training_set
    from latentscm.training.resume import world_from_config
    from latentscm.worlds import make
    from latentscm.worlds.domains import DomainShift

    shift = DomainShift(3, shifted=("scale",), seed=0)
    world = make("sprites", size=16).with_domains(shift)
    training = as_training_set(world, n_samples=31, seed=0, owner="fit")
    assert training.domain.tolist() == [0] * 10 + [1] * 10 + [2] * 10
    assert training.source["n_samples"] == 30 and training.source["domains"] == shift.describe()
    np.testing.assert_array_equal(training.images, world.sample_domains(10, seed=DATA_SEED_OFFSET).images)
    with pytest.raises(ValueError, match="'n_samples' argument of fit is 2, fewer than the 3 domains"):
        as_training_set(world, n_samples=2, seed=0, owner="fit")

    out = tmp_path / "run"
    make_learner("gcrl", channels=(8,), hidden_dim=16, batch_size=8, steps=3, seed=0).fit(
        world, out=str(out), n_samples=30, progress=False, checkpoint_every=1)
    config = read_config(out)
    rebuilt = world_from_config(config, out)
    assert rebuilt.n_domains == 3 and rebuilt.domains.describe() == shift.describe()
    from latentscm.training import resume

    assert resume(out, steps=5, progress=False).history_[-1]["step"] == 5  # the recorded data are found again
    config["data"]["domains"] = {"n_domains": "three"}
    with pytest.raises(ValueError, match="'data.domains' entry of .*config.json"):
        world_from_config(config, out)
