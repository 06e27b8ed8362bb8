"""The training protocol: the loop's hooks are declared, every learner follows them, and a
learner that does not fails with a message naming what is missing."""

import re
from pathlib import Path

import numpy as np
import pytest

import latentscm.training.loop as loop_module
from latentscm import learners
from latentscm.learners.base import Learner
from latentscm.learners.vae import BetaVAE
from latentscm.testing import check_learner
from latentscm.testing.learner_checks import tiny_params
from latentscm.training import train
from latentscm.training.protocol import (
    BUILT_ATTRIBUTES,
    TRAINING_ATTRIBUTES,
    TRAINING_HOOKS,
    TrainableLearner,
    TrainingProtocolError,
    check_training_protocol,
)

# What the loop itself writes as the learned result of training (not hooks of the learner).
_LOOP_RESULTS = {"n_steps_", "history_", "training_data_"}


def _images(n=8, size=8):
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, size=(n, 1, size, size)).astype(np.float32)


def test_the_loop_uses_only_declared_members():
    source = Path(loop_module.__file__).read_text()
    used = set(re.findall(r"\blearner\.(\w+)", source))
    declared = set(TRAINING_HOOKS) | set(TRAINING_ATTRIBUTES) | set(BUILT_ATTRIBUTES) | _LOOP_RESULTS
    assert used, "the pattern found no learner members in the loop"
    assert used <= declared, f"the loop uses undeclared learner members {sorted(used - declared)}"
    assert not re.search(r"learner\._train_nets\s*=", source), "the loop must not write learner._train_nets"


def test_protocol_lists_hooks_with_docs():
    assert {"loss", "_build", "_set_train_nets", "_clear_train_nets", "_optimizer_groups",
            "_make_optimizer"} <= set(TRAINING_HOOKS)
    assert all(TRAINING_HOOKS.values()), "every hook has a docstring"
    assert {"steps", "batch_size", "seed", "uses_factors", "uses_targets"} == set(TRAINING_ATTRIBUTES)
    assert TrainableLearner.__doc__


@pytest.mark.parametrize("name", learners.names())
def test_every_registered_learner_follows_the_protocol(name):
    cls = learners.get(name)
    check_training_protocol(cls)
    check_training_protocol(cls(**tiny_params(cls)))


class NoLoss(BetaVAE):
    loss = Learner.loss  # back to the unimplemented base hook


class ForgetsFactors(BetaVAE):
    uses_factors = True


def test_check_learner_names_an_unimplemented_loss():
    with pytest.raises(AssertionError, match=r"NoLoss does not follow the training protocol.*loss\(images, step\) "
                                             r"is not implemented"):
        check_learner(NoLoss)


def test_flags_must_match_the_loss_signature():
    with pytest.raises(TrainingProtocolError, match="uses_factors is True but loss\\(\\) takes no 'factors' keyword"):
        check_training_protocol(ForgetsFactors)


def test_an_object_missing_hooks_is_refused_before_training():
    class Bare:
        steps, batch_size, seed = 1, 2, 0

        def loss(self, images, step):
            raise AssertionError("never called")

    with pytest.raises(TrainingProtocolError, match=r"Bare .*missing or non-callable hooks .*_build.*_set_train_nets"):
        train(Bare(), _images())
    with pytest.raises(TypeError):  # also a TypeError, for callers that catch that
        check_training_protocol(Bare)


class NoGenerator(BetaVAE):
    def _build(self, image_shape, *, n_factors=None, device=None):
        super()._build(image_shape, n_factors=n_factors, device=device)
        del self._generator


def test_build_must_create_what_the_loop_needs():
    learner = NoGenerator(**tiny_params(NoGenerator, steps=1))
    with pytest.raises(TrainingProtocolError, match="NoGenerator._build did not create _generator"):
        learner.fit(_images(), progress=False)


class Recording(BetaVAE):
    fail_at: int | None = None

    def _set_train_nets(self, nets):
        self.calls = [*getattr(self, "calls", []), ("set", sorted(nets))]
        super()._set_train_nets(nets)

    def _clear_train_nets(self):
        self.calls = [*getattr(self, "calls", []), ("clear", None)]
        super()._clear_train_nets()

    def loss(self, images, step):
        if step == self.fail_at:
            raise RuntimeError("boom")
        for name in self._module_names():  # during training the loss sees the handed-over nets
            assert self._net(name) is self._train_nets[name]
        return super().loss(images, step)


def test_train_nets_are_handed_over_and_cleared_even_on_error():
    learner = Recording(**tiny_params(Recording, steps=2)).fit(_images(), progress=False)
    assert learner.calls == [("set", ["decoder", "encoder"]), ("clear", None)]
    assert learner._net("encoder") is learner.encoder_
    failing = Recording(**tiny_params(Recording, steps=3))
    failing.fail_at = 1
    with pytest.raises(RuntimeError, match="boom"):
        failing.fit(_images(), progress=False)
    assert failing.calls[-1] == ("clear", None) and failing._net("decoder") is failing.decoder_


def test_set_train_nets_refuses_unknown_modules():
    learner = BetaVAE(**tiny_params(BetaVAE, steps=1)).fit(_images(), progress=False)
    with pytest.raises(ValueError, match="no modules \\['critic'\\]"):
        learner._set_train_nets({"critic": learner.encoder_})
