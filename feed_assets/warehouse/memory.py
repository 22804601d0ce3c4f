"""Giving the memory a step freed back to the operating system.

A run's steps share one process (the definitions' executor), so what a step frees but its
allocators keep for reuse is still the process's resident memory when the next step starts:
Arrow's pool keeps freed blocks, and glibc keeps freed heap pages in the arena of each thread
that used them (DuckDB's threads, the trend ranking threads). The warehouse gives it back
when each step's block on the run's connection ends (``Warehouse.connection``): on ten synthetic years the run's
process entered ``term_daily_counts`` at 928 MiB without that, 674-849 MiB with it. What DuckDB
itself keeps outside its buffer is given back only by closing the database (``reopen_after``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable
from functools import lru_cache

import pyarrow as pa


def give_back_freed_memory() -> None:
    """Return freed memory to the operating system: Arrow's unused blocks, and glibc's free
    heap pages in every arena (``malloc_trim``, glibc only)."""
    pa.default_memory_pool().release_unused()
    if (trim := _malloc_trim()) is not None:
        trim(0)


@lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, looked up once per process (None where there is none)."""
    libc = ctypes.util.find_library("c") if sys.platform.startswith("linux") else None
    return getattr(ctypes.CDLL(libc), "malloc_trim", None) if libc else None
