"""On-disk integrity of a run's files: checkpoint headers, the train log's last line, leftover temporaries and
the errors of writes that fail (a full disk names no file of its own)."""

import errno
import os
import warnings

import pytest
import torch

import latentscm._io as io_module
import latentscm.training.logs as logs_module
from latentscm._io import atomic_write, host_tag
from latentscm.training.checkpoint import CheckpointError, load_checkpoint, remove_temporaries, save_checkpoint
from latentscm.training.logs import DamagedLogWarning, RunLog, read_log


def test_a_checkpoint_header_with_another_format_is_refused(tmp_path):
    """The header's format entry was never read: damaged (or from a newer version), the file loaded anyway."""
    path = save_checkpoint(tmp_path / "step_00000001.pt", {"w": torch.ones(2)})
    good = path.read_bytes()
    for old, new in ((b'"format": 1', b'"format": 0'), (b'"format"', b'"gormat"')):
        path.write_bytes(good.replace(old, new, 1))
        with pytest.raises(CheckpointError, match="step_00000001.pt.*format"):
            load_checkpoint(path)
    path.write_bytes(good)
    assert load_checkpoint(path)["w"].tolist() == [1.0, 1.0]


def test_a_damaged_complete_last_log_record_is_reported(tmp_path):
    """Only a last line cut short (no newline) is what a kill leaves; a complete last record damaged on disk
    was dropped without the warning every other damaged line gets."""
    log = RunLog(tmp_path, tensorboard=False)
    for step in (1, 2, 3):
        log.log({"kind": "train", "step": step, "loss": 0.5})
    log.close()
    path = tmp_path / "train.jsonl"
    good = path.read_bytes()
    damaged = bytearray(good)
    damaged[damaged.rindex(b"}")] ^= 0x02
    path.write_bytes(bytes(damaged))
    with pytest.warns(DamagedLogWarning, match="line 3"):
        assert [r["step"] for r in read_log(tmp_path)] == [1, 2]
    path.write_bytes(good[:-5])  # cut short by a kill: silent
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [r["step"] for r in read_log(tmp_path)] == [1, 2]


def test_remove_temporaries_finds_a_leftover_whose_target_name_holds_the_mark(tmp_path):
    """The writer was read after the first '.tmp-' of the name, so a file named 'a.tmp-b.json' left its
    interrupted temporaries behind forever."""
    dead = 4_000_000 + 17  # beyond pid_max: not running
    leftover = tmp_path / f".a.tmp-b.json.tmp-{host_tag()}-{dead}-0a0a0a0a"
    leftover.write_bytes(b"half")
    assert remove_temporaries(tmp_path) == [leftover]
    assert not leftover.exists()


def _full_disk(monkeypatch, module, full_disk):
    real = os.fdopen
    monkeypatch.setattr(module.os, "fdopen", lambda fd, mode: full_disk(real(fd, mode)))


def test_a_failed_atomic_write_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch, full_disk):
    """A full disk's OSError names no file: the error of a failed checkpoint or config write named nothing."""
    path = atomic_write(tmp_path / "config.json", "old")
    _full_disk(monkeypatch, io_module, full_disk)
    with pytest.raises(OSError, match=r"No space left.*config\.json") as caught:
        atomic_write(path, "new")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(path)
    monkeypatch.undo()
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def test_a_failed_log_append_names_the_log(tmp_path, monkeypatch):
    class Full:
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self):
            pass

        def close(self):
            pass

    monkeypatch.setattr(logs_module, "open", lambda *args, **kwargs: Full(), raising=False)
    log = RunLog(tmp_path, tensorboard=False)
    with pytest.raises(OSError, match=r"No space left.*train\.jsonl"):
        log.log({"kind": "train", "step": 1})
