"""The default file storage: Django's filesystem storage, with every saved file on disk before `save` returns."""

from __future__ import annotations

import os

from django.core.files.storage import FileSystemStorage


class DurableFileSystemStorage(FileSystemStorage):
    """FileSystemStorage whose `save` returns only once the file's bytes are on disk, and out of memory.

    A submission answers 201 after its attachment rows are committed, and PostgreSQL's commit is
    durable: the photo they point to must be as well, or a crash could leave a case whose photo is
    empty. Attachments are written once and read rarely, so the kernel's copy of the bytes is then
    dropped from the page cache: it would only push out pages that are read more often. (On a
    virtual machine whose idle memory goes back to the host, every file left cached also takes fresh
    pages for the next one, which costs far more to fill than pages just freed.)
    """

    def _save(self, name: str, content) -> str:
        name = super()._save(name, content)
        try:
            settle(self.path(name))
        except OSError:
            self.delete(name)  # not known to be on disk: not saved
            raise
        return name


def settle(path: str) -> None:
    """Flush a written file's data to disk, then drop its pages from the page cache (where the OS lets us)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        getattr(os, "fdatasync", os.fsync)(fd)  # macOS has no fdatasync
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
