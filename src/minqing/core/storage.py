"""The default file storage: Django's filesystem storage; a saved file gets its name only once whole and on disk."""

from __future__ import annotations

import contextlib
import os
import posixpath
import uuid

from django.core.files.storage import FileSystemStorage


class DurableFileSystemStorage(FileSystemStorage):
    """FileSystemStorage whose files appear under their names only whole, on disk, and out of memory.

    A submission answers 201 after its attachment rows are committed, and PostgreSQL's commit is
    durable: the photo they point to must be as well, or a crash could leave a case whose photo is
    empty. So each file is written under a temporary name, flushed (`fdatasync`), and only then
    linked to its own name. A write that fails halfway (a full disk) leaves nothing behind, and a
    later save of the same bytes never finds a truncated file under their name. A name already
    taken is never overwritten: the file gets another one, as with Django's storage.

    Attachments are written once and read rarely, so the kernel's copy of the bytes is dropped from
    the page cache: it would only push out pages that are read more often. (On a virtual machine
    whose idle memory goes back to the host, every file left cached also takes fresh pages for the
    next one, which costs far more to fill than pages just freed.)
    """

    def _save(self, name: str, content) -> str:
        directory, base = posixpath.split(name)
        partial = posixpath.join(directory, f".partial-{uuid.uuid4().hex}-{base}")
        try:
            partial = super()._save(partial, content)
            settle(self.path(partial))
            return self._publish(partial, name)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path(partial))

    def _publish(self, partial: str, name: str) -> str:
        """Give the written file its name (a hard link: the name never points at a partial file)."""
        if self._allow_overwrite:
            os.replace(self.path(partial), self.path(name))
            return name
        while True:
            try:
                os.link(self.path(partial), self.path(name))
                return name
            except FileExistsError:
                name = self.get_available_name(name)


def settle(path: str) -> None:
    """Flush a written file's data to disk, then drop its pages from the page cache (where the OS lets us)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        getattr(os, "fdatasync", os.fsync)(fd)  # macOS has no fdatasync
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
