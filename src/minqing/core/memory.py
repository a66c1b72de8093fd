"""How the web process's C allocator hands memory back to the operating system."""

from __future__ import annotations

import ctypes

# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

# Above FILE_UPLOAD_MAX_MEMORY_SIZE (5 MB): every upload kept in memory, and each copy of it, is served
# from the heap. Larger blocks are still mapped on their own and unmapped when freed.
MMAP_THRESHOLD = 8 * 1024 * 1024
# Free memory at the top of a heap goes back to the system only beyond this.
TRIM_THRESHOLD = 64 * 1024 * 1024


def retain_freed_memory() -> bool:
    """Let glibc keep freed memory for the next request instead of returning it at once; False if not glibc.

    By default glibc maps each block over 128 KB on its own (the bound then grows with what is freed)
    and unmaps it when freed, and it trims a heap's free top beyond twice that. A request carrying a
    1 MB photo then gets fresh pages from the kernel for its body, its copies and its reads: page
    faults, zeroing, and on a virtual machine that returns idle memory to the host, a trip to the host
    for every page. Kept, the next request reuses pages already mapped. A worker's resident memory then
    stays near its busiest moment (bounded by the trim threshold above), which is the usual trade for
    a server.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (macOS has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
