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


def _files(root) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def test_save_flushes_the_whole_file_then_drops_it_from_the_cache(tmp_path, syscalls):
    storage = DurableFileSystemStorage(location=tmp_path)
    data = os.urandom(300_000)
    name = storage.save("cases/2026/11/7/photo.jpg", ContentFile(data))
    assert name == "cases/2026/11/7/photo.jpg"
    assert _files(tmp_path) == {name: data}  # the temporary name is gone
    (flush, flushed, size), (advice, advised, how) = syscalls
    assert (flush, advice) == ("fdatasync", "fadvise") and flushed == advised
    assert os.path.dirname(flushed) == str(tmp_path / "cases/2026/11/7") and size == len(data)
    assert how == (0, 0, os.POSIX_FADV_DONTNEED)


def test_a_taken_name_is_never_overwritten(tmp_path, syscalls):
    storage = DurableFileSystemStorage(location=tmp_path)
    first = storage.save("a/report.pdf", ContentFile(b"first"))
    second = storage.save("a/report.pdf", ContentFile(b"second"))
    assert first == "a/report.pdf" and second != first and second.startswith("a/report_")
    assert _files(tmp_path) == {first: b"first", second: b"second"}
    assert [call for call, _path, _ in syscalls] == ["fdatasync", "fadvise"] * 2


class _FullDisk(ContentFile):
    """Content whose second chunk fails to arrive, as a write does when the disk fills up."""

    def chunks(self, chunk_size=None):
        yield b"x" * 65536
        raise OSError(28, "No space left on device")


def test_a_write_that_fails_halfway_leaves_nothing(tmp_path):
    storage = DurableFileSystemStorage(location=tmp_path)
    with pytest.raises(OSError, match="No space left"):
        storage.save("x/photo.jpg", _FullDisk(b""))
    assert _files(tmp_path) == {}
    assert storage.save("x/photo.jpg", ContentFile(b"whole")) == "x/photo.jpg"  # the name was never taken
    assert _files(tmp_path) == {"x/photo.jpg": b"whole"}


def test_a_failed_flush_fails_the_save_and_leaves_no_file(tmp_path, monkeypatch):
    """A file that may not be on disk is not saved: it is removed, and the caller refuses the request."""

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(storage_module.os, "fdatasync", broken)
    storage = DurableFileSystemStorage(location=tmp_path)
    with pytest.raises(OSError, match="Input/output error"):
        storage.save("x/photo.jpg", ContentFile(b"bytes"))
    assert _files(tmp_path) == {}


def test_overwriting_storage_replaces_the_file(tmp_path):
    storage = DurableFileSystemStorage(location=tmp_path, allow_overwrite=True)
    storage.save("a/export.xlsx", ContentFile(b"old"))
    assert storage.save("a/export.xlsx", ContentFile(b"new")) == "a/export.xlsx"
    assert _files(tmp_path) == {"a/export.xlsx": b"new"}
