"""The same study on a local Ray instance (started here with 2 CPUs) and on the sequential
executor gives the same table: 2 learners × 2 seeds × 2 β on 16-pixel sprites."""

import json
import os

import pytest
from study_support import tiny_spec

from latentscm import study
from latentscm.study.results import BOOKKEEPING

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'latentscm[ray]')")


def findings(rows):
    """The rows without the bookkeeping columns (attempts, seconds, error)."""
    return [{k: v for k, v in row.items() if k not in BOOKKEEPING} for row in rows]


@pytest.fixture(scope="module")
def local_ray():
    if ray.is_initialized():
        pytest.skip("Ray is already initialised in this process")
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    except Exception as error:  # Ray's own start-up deadlines (about 20-30 s) can pass on an overloaded machine
        ray.shutdown()  # stop what did start
        if "timed out" not in str(error):
            raise
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        pytest.skip(f"Ray could not start here (load average {load}): {error}")
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.mark.slow
def test_ray_and_sequential_executors_give_the_same_table(local_ray, tmp_path):
    from latentscm.study.ray_executor import RayExecutor

    spec = tiny_spec()
    executor = RayExecutor()
    assert executor.prepare(1, 0) == 2  # one trial per CPU of the instance the test started
    on_ray = study.run(spec, tmp_path / "ray", executor=executor, threads=1, progress=False)
    assert local_ray.is_initialized()  # an instance the caller started is left running
    sequential = study.run(spec, tmp_path / "sequential", executor="sequential", threads=1, progress=False)
    assert len(on_ray.rows) == 8 and on_ray.counts()["done"] == 8
    assert {(r["learner"], r["param.beta"], r["seed"]) for r in on_ray.rows} == {
        (learner, beta, seed) for learner in ("beta_vae", "beta_tcvae") for beta in (1.0, 4.0) for seed in (0, 1)}
    assert findings(on_ray.rows) == findings(sequential.rows)  # bit-identical metrics, same order
    assert study.read_results(tmp_path / "ray") == on_ray.rows
    # the trials really ran in Ray worker processes, not in this one
    pids = {json.loads((tmp_path / "ray" / "trials" / r["trial"] / "status.json").read_text())["pid"]
            for r in on_ray.rows}
    assert os.getpid() not in pids


@pytest.mark.slow
def test_a_failing_trial_on_ray_is_recorded(local_ray, tmp_path):
    from latentscm.study.ray_executor import RayExecutor

    spec = tiny_spec(learners={"beta_vae": {"params": {"latent_dim": 3, "channels": [4, 8], "hidden_dim": 16,
                                                       "batch_size": 8}, "grid": {"beta": [2.0, -1.0]}}}, seeds=[0])
    result = study.run(spec, tmp_path, executor=RayExecutor(), threads=1, retries=0, progress=False)
    by_beta = {row["param.beta"]: row for row in result.rows}
    assert by_beta[2.0]["status"] == "done" and by_beta[2.0]["mig"] is not None
    assert by_beta[-1.0]["status"] == "failed"
    assert "'beta' parameter of BetaVAE must be a float >= 0" in by_beta[-1.0]["error"]
