"""Run numpy's OpenBLAS single-threaded inside the selection kernels (stdlib ``ctypes`` only).

The kernels issue many small and medium GEMM/GEMV calls. Multi-threaded OpenBLAS pays a thread
hand-off per call, and on a loaded machine its spinning threads compete with everything else:
measured on 2 cores, a 160 x 2048 x 384 SGEMM took 5-15 ms with 2 threads and 2 ms with one.
Where parallelism pays, the kernels run their own Python threads instead (numpy releases the
GIL inside BLAS and most ufuncs).

``single_threaded_blas()`` finds the OpenBLAS loaded by numpy (Linux: ``/proc/self/maps``),
sets its thread count to 1 and restores it afterwards. Anywhere it cannot (another BLAS, another
OS), it does nothing: results never depend on it, only speed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from collections.abc import Iterator
from typing import Any

_PREFIXES = ("scipy_openblas", "openblas")
_SUFFIXES = ("64_", "_64_", "")
_lock = threading.Lock()
_depth = 0
_saved = 0
_looked_up = False
_funcs: tuple[Any, Any] | None = None


def _lookup() -> tuple[Any, Any] | None:
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            paths = {line.split()[-1] for line in fh if ".so" in line}
    except OSError:
        return None
    for path in sorted(p for p in paths if "blas" in os.path.basename(p).lower()):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for pre in _PREFIXES:
            for suf in _SUFFIXES:
                set_fn = getattr(lib, f"{pre}_set_num_threads{suf}", None)
                get_fn = getattr(lib, f"{pre}_get_num_threads{suf}", None)
                if set_fn is not None and get_fn is not None:
                    set_fn.argtypes = [ctypes.c_int]
                    set_fn.restype = None
                    get_fn.argtypes = []
                    get_fn.restype = ctypes.c_int
                    return set_fn, get_fn
    return None


def _get_funcs() -> tuple[Any, Any] | None:
    global _funcs, _looked_up
    if not _looked_up:
        _funcs = _lookup()
        _looked_up = True
    return _funcs


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit OpenBLAS to one thread inside the block (re-entrant; restores on exit)."""
    global _depth, _saved
    funcs = _get_funcs()
    if funcs is None:
        yield
        return
    set_fn, get_fn = funcs
    with _lock:
        if _depth == 0:
            _saved = int(get_fn())
            if _saved != 1:
                set_fn(1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved != 1:
                set_fn(_saved)


@contextlib.contextmanager
def all_blas_threads() -> Iterator[None]:
    """Inside ``single_threaded_blas``: give one large call (a pass over a big matrix) all of
    OpenBLAS's threads again. Memory-bound passes over tens of MB run about twice as fast on
    two threads; the hand-off only hurts small calls."""
    funcs = _get_funcs()
    with _lock:
        restore = funcs is not None and _depth > 0 and _saved > 1
        if restore:
            funcs[0](_saved)  # type: ignore[index]
    try:
        yield
    finally:
        if restore:
            with _lock:
                if _depth > 0:
                    funcs[0](1)  # type: ignore[index]


def blas_threads() -> int | None:
    """Current OpenBLAS thread count (None when it cannot be controlled)."""
    funcs = _get_funcs()
    return None if funcs is None else int(funcs[1]())
