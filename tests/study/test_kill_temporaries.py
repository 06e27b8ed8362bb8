"""A driver killed between writing a file's temporary and renaming it: the re-run removes the temporary.

Without the clean-up a trial that only reloads its trained model (killed while writing metrics.json) never
enters fit(), the only place that removed them, and the study directory's own files (results.csv) had none."""

import json
import subprocess
import sys

import pytest
from study_support import TINY, tiny_spec

from latentscm import study

#: Runs a study and dies (as by SIGKILL) right before renaming the temporary of the file named argv[1].
CHILD = r"""
import json, os, sys
from pathlib import Path
real = os.replace
def replace(src, dst, *args, **kwargs):
    if Path(dst).name == sys.argv[1]:
        os._exit(9)
    return real(src, dst, *args, **kwargs)
os.replace = replace
from latentscm import study
study.run(json.loads(sys.argv[2]), sys.argv[3], executor="sequential", threads=1, progress=False)
"""


def _temporaries(out):
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if ".tmp-" in p.name)


@pytest.mark.parametrize("killed_writing", ["metrics.json", "results.csv"])
def test_rerun_removes_the_temporaries_of_a_killed_driver(killed_writing, tmp_path, subprocess_env):
    spec = tiny_spec(seeds=[0], steps=4, learners={"beta_vae": {"params": {**TINY, "beta": 4.0}}})
    out = tmp_path / "study"
    child = subprocess.run([sys.executable, "-c", CHILD, killed_writing, json.dumps(spec), str(out)],
                           env=subprocess_env, capture_output=True, text=True, timeout=300)
    assert child.returncode == 9, child.stderr[-2000:]
    assert [name.rsplit("/", 1)[-1].startswith(f".{killed_writing}.tmp-") for name in _temporaries(out)] == [True]

    result = study.run(spec, out, executor="sequential", threads=1, progress=False)
    assert result.counts()["done"] == 1
    assert _temporaries(out) == []
    assert 0 <= study.read_results(out)[0]["mig"] <= 1
