"""Importers of the same data that share a host name and a pid (two containers of one host, each its own pid
namespace, sharing the cache) each write their own temporary directory; leftovers of dead ones are removed."""

import os
import subprocess
import sys
import textwrap

import numpy as np
from PIL import Image

from latentscm._io import host_tag
from latentscm.data import import_data
from latentscm.data.store import content_key


def test_two_importers_with_one_host_and_pid_do_not_delete_each_others_work(tmp_path):
    """The temporary was named by host and pid alone, and cleared before use: the second importer deleted the
    first one's directory mid-write, and both failed (FileNotFoundError, 'mmap length is greater than file
    size')."""
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(8):
        Image.fromarray(np.full((4, 4), 20 * i, np.uint8)).save(folder / f"{i}.png")
    marker = tmp_path / "second-importer-decoding"
    code = textwrap.dedent(f"""
        import os, sys, time
        from pathlib import Path
        os.getpid = lambda: 1  # pid 1 of its own container
        import latentscm.data.store as store
        read_image, marker, first = store.read_image, Path({str(marker)!r}), sys.argv[1] == "first"
        def in_step(path, channels):  # the first waits, mid-import, until the second decodes too
            if first and path.name == "1.png":
                print("STARTED", flush=True)
                deadline = time.monotonic() + 60
                while not marker.exists() and time.monotonic() < deadline:
                    time.sleep(0.01)
            if not first and path.name == "0.png":
                marker.touch()
            return read_image(path, channels)
        store.read_image = in_step
        data = store.import_data({str(folder)!r}, root={str(tmp_path / "store")!r})
        print("OK", len(data), int(data.images.sum()), flush=True)
    """)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen([sys.executable, "-c", code, "first"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)
    try:
        assert first.stdout.readline().strip() == "STARTED", first.stderr.read()
        second = subprocess.run([sys.executable, "-c", code, "second"], capture_output=True, text=True, env=env,
                                timeout=120)
        out, err = first.communicate(timeout=120)
    finally:
        first.kill()
    expected = f"OK 8 {16 * 20 * sum(range(8))}"
    assert out.strip().splitlines()[-1:] == [expected], err[-2000:]
    assert second.stdout.strip().splitlines()[-1:] == [expected], second.stderr[-2000:]
    assert [p.name for p in (tmp_path / "store").iterdir()] == [f"data-{content_key(folder)[0][:16]}"]


def test_a_dead_importers_temporary_is_removed_and_a_live_ones_kept(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(folder / "a.png")
    prefix = f".tmp-data-{content_key(folder)[0][:16]}-"
    store = tmp_path / "store"
    store.mkdir()
    dead = store / f"{prefix}0a0a0a0a0a0a0a0a-{host_tag()}-{4_000_000 + 17}"  # beyond pid_max: not running
    live = store / f"{prefix}0b0b0b0b0b0b0b0b-{host_tag()}-{os.getppid()}"
    dead.mkdir()
    live.mkdir()
    import_data(folder, root=store)
    assert not dead.exists() and live.exists()
