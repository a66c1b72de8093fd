"""The web process keeps freed memory for the next request (glibc), and starts anyway elsewhere."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

# Run in a fresh interpreter: the allocator's settings are per process and would outlive the test.
PROBE = """
import ctypes, json, sys
from minqing.core.memory import retain_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
retained = retain_freed_memory() if sys.argv[1] == "retain" else None
mapped_before = libc.mallinfo2().hblkhd
photo = bytearray(4 * 1024 * 1024)
mapped = libc.mallinfo2().hblkhd - mapped_before
heap_in_use = libc.mallinfo2().arena
del photo
print(json.dumps({"retained": retained, "mapped": mapped, "heap": heap_in_use, "heap_after": libc.mallinfo2().arena}))
"""


def _probe(mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_a_photo_sized_block_comes_from_the_heap_and_stays_there():
    if platform.libc_ver()[0] != "glibc":
        from minqing.core.memory import retain_freed_memory

        assert retain_freed_memory() is False  # no mallopt: the server starts with the allocator as it is
        return
    default, retained = _probe("default"), _probe("retain")
    assert default["mapped"] >= 4 * 1024 * 1024  # glibc's default: a block of its own, unmapped when freed
    assert retained["retained"] is True
    assert retained["mapped"] == 0 and retained["heap"] >= 4 * 1024 * 1024
    assert retained["heap_after"] == retained["heap"]  # freed, and kept for the next request
