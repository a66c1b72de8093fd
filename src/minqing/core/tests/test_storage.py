"""The default storage: a saved file is flushed to disk and dropped from the page cache before save returns."""

from __future__ import annotations

import os

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from minqing.core import storage as storage_module
from minqing.core.storage import DurableFileSystemStorage


@pytest.fixture
def syscalls(monkeypatch):
    """The files fdatasync and posix_fadvise were called on, in order, with the advice given."""
    calls: list[tuple] = []
    real_fdatasync, real_fadvise = os.fdatasync, os.posix_fadvise

    def fdatasync(fd: int) -> None:
        calls.append(("fdatasync", os.readlink(f"/proc/self/fd/{fd}"), os.fstat(fd).st_size))
        real_fdatasync(fd)

    def fadvise(fd: int, offset: int, length: int, advice: int) -> None:
        calls.append(("fadvise", os.readlink(f"/proc/self/fd/{fd}"), (offset, length, advice)))
        real_fadvise(fd, offset, length, advice)

    monkeypatch.setattr(storage_module.os, "fdatasync", fdatasync)
    monkeypatch.setattr(storage_module.os, "posix_fadvise", fadvise)
    return calls


def test_the_project_stores_files_durably():
    assert isinstance(default_storage, DurableFileSystemStorage)


def test_save_flushes_the_whole_file_then_drops_it_from_the_cache(tmp_path, syscalls):
    storage = DurableFileSystemStorage(location=tmp_path)
    data = os.urandom(300_000)
    name = storage.save("cases/2026/11/7/photo.jpg", ContentFile(data))
    assert name == "cases/2026/11/7/photo.jpg"
    path = str(tmp_path / name)
    assert (tmp_path / name).read_bytes() == data
    assert syscalls == [
        ("fdatasync", path, len(data)),
        ("fadvise", path, (0, 0, os.POSIX_FADV_DONTNEED)),
    ]


def test_a_taken_name_gets_a_new_one_and_that_file_is_the_one_flushed(tmp_path, syscalls):
    storage = DurableFileSystemStorage(location=tmp_path)
    first = storage.save("a/report.pdf", ContentFile(b"first"))
    second = storage.save("a/report.pdf", ContentFile(b"second"))
    assert first == "a/report.pdf" and second != first and second.startswith("a/report_")
    assert (tmp_path / first).read_bytes() == b"first" and (tmp_path / second).read_bytes() == b"second"
    assert [(call, path) for call, path, _ in syscalls] == [
        ("fdatasync", str(tmp_path / first)),
        ("fadvise", str(tmp_path / first)),
        ("fdatasync", str(tmp_path / second)),
        ("fadvise", str(tmp_path / second)),
    ]


def test_a_failed_flush_fails_the_save_and_leaves_no_file(tmp_path, monkeypatch):
    """A file that may not be on disk is not saved: it is removed, and the caller refuses the request."""

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(storage_module.os, "fdatasync", broken)
    storage = DurableFileSystemStorage(location=tmp_path)
    with pytest.raises(OSError, match="Input/output error"):
        storage.save("x/photo.jpg", ContentFile(b"bytes"))
    assert list((tmp_path / "x").iterdir()) == []
