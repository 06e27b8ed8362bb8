"""Shared pieces of the data and store tests."""

import errno

import pytest


class FullDisk:
    """A file handle that takes ``limit`` bytes, then fails every write as a full disk does (``ENOSPC``, an
    ``OSError`` naming no file); everything else goes to the real handle."""

    def __init__(self, handle, limit: int = 0):
        self.handle, self.limit, self.written = handle, limit, 0

    def write(self, data):
        size = memoryview(data).nbytes if not isinstance(data, str) else len(data.encode())
        if self.written + size > self.limit:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.written += size
        return self.handle.write(data)

    def __getattr__(self, name):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()


@pytest.fixture
def full_disk():
    """``full_disk(handle, limit=0)``: see :class:`FullDisk`."""
    return FullDisk
