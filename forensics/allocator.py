"""Tune the C allocator for the parser's allocation pattern (Linux glibc only).

Each 32 MB piece of a tracelog makes a few short-lived NumPy and byte buffers of tens of
megabytes. By default glibc serves every block above 128 kB with a fresh ``mmap`` and
returns it on ``free``, so every piece pays page faults again (measured: 5-7 s of system
time for 1.1 GB of logs on the benchmark machine). Raising the mmap threshold to its
maximum (32 MB) and keeping freed memory lets pieces reuse the heap; it costs some peak
memory (about 1.0 GB per GB of logs instead of 0.7, under the 1.5 of SPEC §8).

:func:`tune` is called by the command line and the scan workers; a library user may call
it too. Elsewhere (musl, macOS, Windows) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_SETTINGS = (
    (_M_MMAP_THRESHOLD, 32 * 1024 * 1024),  # glibc's maximum on 64-bit
    (_M_TRIM_THRESHOLD, 1024 * 1024 * 1024),
    (_M_TOP_PAD, 64 * 1024 * 1024),
)


def tune() -> bool:
    """Apply the settings; True when the allocator took them."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in _SETTINGS)
