"""The report's graph figure of a causal learner states how far its latent graph is from the world's (SHD, SID)."""

import html

import latentscm.worlds
from latentscm.graph import CausalGraph
from latentscm.learners import make
from latentscm.metrics import shd, sid
from latentscm.report.html import build_report


def test_the_caption_gives_shd_and_sid_of_the_models_graph(tmp_path):
    world = latentscm.worlds.make("pendulum", size=16, grid=False)
    # a wrong graph on purpose: one true edge missing, one reversed
    wrong = "shadow_length -> pendulum_angle; light_position -> shadow_position; pendulum_angle -> shadow_position"
    model = make("causal_vae", graph=wrong, extra_dims=0, channels=(4, 8), hidden_dim=16, batch_size=8, steps=2)
    model.fit(world, out=str(tmp_path / "run"), n_samples=16, progress=False)
    text = html.unescape(build_report([tmp_path / "run"], tmp_path / "report.html", n_images=2).read_text())
    learned = CausalGraph.from_text(wrong)
    assert shd(world.graph, learned) > 0 and sid(world.graph, learned)["sid"] > 0
    assert (f"SHD {shd(world.graph, learned):g}, SID {sid(world.graph, learned)['sid']:g} of 12 pairs"
            in text)
