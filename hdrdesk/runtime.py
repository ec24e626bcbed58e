"""Process-wide settings for fast fusion, applied before numpy, OpenCV or torch load (no imports of them)."""

from __future__ import annotations

import os
import sys


def apply_runtime_defaults() -> None:
    """Process defaults for fusing on a shared, small CPU, set before numpy and torch are imported
    (the user's environment wins). The CLI's fusing commands and the app call it first.

    OMP_WAIT_POLICY=PASSIVE: torch's OpenMP threads sleep instead of spinning between
    operations, so they do not steal the cores from OpenCV, from our own pipeline
    threads or from other programs (on a busy 2-core machine spinning made the network
    2-3x slower).
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # NumPy asks the kernel for transparent huge pages for big arrays; where the kernel
    # compacts memory to provide them (THP defrag "madvise"), first-touch faults of a
    # 12 MP float plane cost ~10x more than with normal pages. Our arrays are touched once.
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")  # decoder warnings would garble one-line errors
    if os.environ.get("HDRDESK_MALLOC_TUNING", "1") != "0":
        _tune_malloc()


def _tune_malloc() -> None:
    """glibc: keep freed big blocks in the heap for reuse instead of unmapping them.

    A fusion allocates and frees many 50-150 MB planes; returned to the kernel, each one
    is page-faulted in again when the next is allocated (on the 2-core dev VM that was
    ~0.5 s of system time per 12 MP fusion). One arena, so the pipeline's threads share
    the freed blocks. Costs a few percent of peak memory (fragmentation).
    HDRDESK_MALLOC_TUNING=0 turns it off.
    """
    import ctypes

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return
    m_trim_threshold, m_mmap_threshold, m_arena_max = -1, -3, -8
    libc.mallopt(m_arena_max, 1)
    libc.mallopt(m_mmap_threshold, 1 << 30)
    libc.mallopt(m_trim_threshold, 1 << 30)
