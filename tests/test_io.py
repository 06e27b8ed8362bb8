"""One atomic writer (``latentscm._io.atomic_write``): usual file mode, nothing half-written; and its reader
of small JSON records (``read_json_object``, ``latentscm.run.read_metrics``)."""

import os
import stat

import numpy as np
import pytest
from typer.testing import CliRunner

from latentscm._io import atomic_write, atomic_write_json
from latentscm.cli import app
from latentscm.report.images import save_png
from latentscm.training.checkpoint import remove_temporaries, write_json_atomic


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_discover_writes_world_readable_outputs(tmp_path, umask_022):
    """Regression: `latentscm discover` used to leave graph.json (and graph.png) at mode 0600."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=200)
    table = np.column_stack([a, a + rng.normal(size=200), rng.normal(size=200)])
    np.savetxt(tmp_path / "data.csv", table, delimiter=",", header="a,b,c", comments="")
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "pc", "--ci", "fisherz",
                                      "--out", str(tmp_path / "graph.json"), "--png", str(tmp_path / "graph.png")])
    assert result.exit_code == 0, result.output
    assert _mode(tmp_path / "graph.json") == 0o644
    assert _mode(tmp_path / "graph.png") == 0o644


def test_every_writer_gets_the_umask_mode(tmp_path, umask_022):
    assert _mode(atomic_write(tmp_path / "a.bin", b"x")) == 0o644
    assert _mode(atomic_write_json(tmp_path / "a.json", {"a": 1})) == 0o644
    assert _mode(write_json_atomic(tmp_path / "b.json", {"b": 1})) == 0o644
    assert _mode(save_png(tmp_path / "a.png", np.zeros((2, 2, 3), np.uint8))) == 0o644
    os.umask(0o077)
    assert _mode(atomic_write(tmp_path / "private.txt", "x")) == 0o600


def test_replacing_keeps_the_mode_and_content_is_whole(tmp_path, umask_022):
    path = atomic_write(tmp_path / "f.txt", "first")
    os.chmod(path, 0o640)
    atomic_write(path, "second")
    assert path.read_text() == "second" and _mode(path) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]  # no temporary left behind


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = atomic_write(tmp_path / "f.json", "old")
    with pytest.raises(TypeError, match="f.json"):
        atomic_write(path, 3)
    with pytest.raises(TypeError):
        atomic_write_json(path, {"x": object()})
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]


def test_remove_temporaries_finds_leftovers(tmp_path):
    leftover = tmp_path / f".model.pt.tmp-{os.getpid()}-abcd1234"
    leftover.write_bytes(b"half")
    assert remove_temporaries(tmp_path) == [leftover]
    assert not leftover.exists()


def test_remove_temporaries_leaves_live_and_other_machines_writers_alone(tmp_path):
    """Every temporary was deleted on resume, so a file another process was writing into the run (an
    evaluation's metrics.json, or another machine's write in a shared folder) could vanish before its rename."""
    from latentscm._io import host_tag

    dead = 4_000_000 + 17  # beyond pid_max: not running
    names = {"dead": f".a.json.tmp-{host_tag()}-{dead}-0a0a0a0a", "legacy": f".b.json.tmp-{dead}-0b0b0b0b",
             "mine": f".c.json.tmp-{host_tag()}-{os.getpid()}-0c0c0c0c",
             "live": f".d.json.tmp-{host_tag()}-{os.getppid()}-0d0d0d0d",
             "elsewhere": f".e.json.tmp-another-host-{dead}-0e0e0e0e"}
    for name in names.values():
        (tmp_path / name).write_text("half")
    removed = {path.name for path in remove_temporaries(tmp_path)}
    assert removed == {names["dead"], names["legacy"], names["mine"]}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([names["live"], names["elsewhere"]])
    written = atomic_write(tmp_path / "f.txt", "x")  # its temporary named this machine and process
    assert written.read_text() == "x"


def test_read_json_object_and_run_metrics_in_both_forms(tmp_path):
    from latentscm._io import read_json_object
    from latentscm.run import read_metrics

    assert read_json_object(tmp_path / "absent.json") is None and read_metrics(tmp_path) == {}
    (tmp_path / "metrics.json").write_text('{"run": "r", "n": 10, "metrics": {"mig": 0.5, "ok": true, "notes": "x"}}')
    assert read_metrics(tmp_path) == {"mig": 0.5}  # the form `latentscm evaluate` writes; bools/strings left out
    (tmp_path / "metrics.json").write_text('{"mig": 0.25, "dci.disentanglement": 1}')
    assert read_metrics(tmp_path) == {"mig": 0.25, "dci.disentanglement": 1}  # the flat form
    (tmp_path / "metrics.json").write_text('{"mig": 0.2')  # truncated
    with pytest.raises(ValueError, match="metrics.json' is not valid JSON .*latentscm evaluate"):
        read_metrics(tmp_path)
    (tmp_path / "metrics.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="must hold a JSON object. Got list"):
        read_metrics(tmp_path)


def _strict_loads(text):
    """json.loads that refuses the NaN/Infinity tokens strict JSON (RFC 8259) does not have."""
    import json

    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")
    return json.loads(text, parse_constant=refuse)


def test_json_writers_write_strict_json_with_null_for_non_finite(tmp_path):
    """Regression: NaN metrics were written as bare NaN tokens, which JSON.parse and jq reject."""
    from latentscm._io import dumps_strict, json_ready

    record = {"nan": float("nan"), "inf": np.float32("-inf"), "list": [1, np.nan, (2.5, np.inf)],
              "array": np.array([[1.0, np.nan]]), "int": np.int64(3), "flag": np.bool_(True), "set": {4}}
    expected = {"nan": None, "inf": None, "list": [1, None, [2.5, None]], "array": [[1.0, None]], "int": 3,
                "flag": True, "set": [4]}
    assert _strict_loads(atomic_write_json(tmp_path / "r.json", record, default=sorted).read_text()) == expected
    assert _strict_loads(dumps_strict(record, default=sorted)) == expected
    assert json_ready(np.float64(np.nan), None) is None and json_ready(np.nan, lambda v: v) is None
    # a default that itself returns NaN still gives null, not a ValueError from allow_nan=False
    assert _strict_loads(dumps_strict({"x": object()}, default=lambda value: float("nan"))) == {"x": None}


def test_nan_metric_round_trips_through_strict_json(tmp_path):
    from latentscm.run import read_metrics

    atomic_write_json(tmp_path / "metrics.json", {"metrics": {"mig": float("nan"), "dci.informativeness": 0.5}})
    assert "NaN" not in (tmp_path / "metrics.json").read_text()
    metrics = read_metrics(tmp_path)
    assert set(metrics) == {"mig", "dci.informativeness"} and np.isnan(metrics["mig"])
    assert metrics["dci.informativeness"] == 0.5


def test_discovered_graph_json_is_strict(tmp_path):
    from latentscm.discovery.result import DiscoveredGraph

    graph = DiscoveredGraph(nodes=["a", "b"], adjacency=np.array([[0, 1], [0, 0]]),
                            info={"p_values": np.array([np.nan, 0.01])})
    assert _strict_loads(graph.to_json())["info"]["p_values"] == [None, 0.01]


def test_json_files_damaged_into_non_utf8_bytes_are_named(tmp_path):
    """Regression: a config.json / metrics.json holding bytes that are not UTF-8 raised a bare
    UnicodeDecodeError that named no file."""
    from latentscm.run import read_config, read_metrics

    for name, reader in (("config.json", read_config), ("metrics.json", read_metrics)):
        (tmp_path / name).write_bytes(b'{"learner": \xff\xfe damaged')
        with pytest.raises(ValueError, match=rf"'{tmp_path / name}' is not valid JSON \('utf-8' codec"):
            reader(tmp_path)


def test_json_with_numpy_dict_keys_is_written(tmp_path):
    import json

    counts = dict(zip(*np.unique(np.array([3, 1, 3]), return_counts=True)))  # np.int64 keys and values
    atomic_write_json(tmp_path / "counts.json", {"counts": counts})
    assert json.loads((tmp_path / "counts.json").read_text()) == {"counts": {"1": 1, "3": 2}}
