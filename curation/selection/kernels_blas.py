"""Run numpy's BLAS single-threaded inside the selection kernels (through ``threadpoolctl``).

The kernels issue many small and medium GEMM/GEMV calls. Multi-threaded OpenBLAS pays a thread
hand-off per call, and on a loaded machine its spinning threads compete with everything else:
measured on 2 cores, a 160 x 2048 x 384 SGEMM took 5-15 ms with 2 threads and 2 ms with one.
Where parallelism pays, the kernels run their own Python threads instead (numpy releases the
GIL inside BLAS and most ufuncs).

``single_threaded_blas()`` limits the BLAS libraries loaded in the process to one thread and
restores them afterwards; ``all_blas_threads()`` gives one large call every thread again. Both
use one ``threadpoolctl.ThreadpoolController``, created lazily on first use (it scans the loaded
libraries once) and narrowed to BLAS. Where no BLAS can be controlled they do nothing: results
never depend on them, only speed.

OpenBLAS's thread count is process-wide. The first thread to enter ``single_threaded_blas``
owns it until that thread leaves its outermost block; another thread selecting at the same time
leaves the count alone (threadpoolctl would ignore it anyway), so two overlapping runs never
leave BLAS stuck at one thread.

Cost, measured on 2 cores: entering and leaving ``single_threaded_blas`` takes about 9 us and
``all_blas_threads`` about 6 us (the former ctypes calls: 3 us). A run switches once per
``select()`` plus once per large pass: 2 + 144 switches in the 2.2 s ``diversity`` benchmark case
(under 0.1%), 2 in the 0.17 s ``diversity_text`` case, whose time did not change.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from threadpoolctl import ThreadpoolController

_lock = threading.Lock()
_controller: ThreadpoolController | None = None
_looked_up = False
_owner: int | None = None  # the thread whose outermost single_threaded_blas holds the limit
_full_threads = 1  # the owner's thread count before it limited BLAS to one


def _blas() -> ThreadpoolController | None:
    """The BLAS libraries loaded in this process (found once), or None when there are none."""
    global _controller, _looked_up
    with _lock:
        if not _looked_up:
            blas = ThreadpoolController().select(user_api="blas")
            _controller = blas if blas.lib_controllers else None
            _looked_up = True
    return _controller


def _num_threads(blas: ThreadpoolController) -> int:
    return max(int(lib.num_threads or 1) for lib in blas.lib_controllers)


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread inside the block (re-entrant; restores on exit)."""
    global _owner, _full_threads
    blas = _blas()
    me = threading.get_ident()
    with _lock:
        outermost = blas is not None and _owner is None
        if outermost:
            _owner = me
    if not outermost:  # nested in this thread's block, another thread's, or no BLAS at all
        yield
        return
    assert blas is not None
    try:
        _full_threads = _num_threads(blas)
        with blas.limit(limits=1):
            yield
    finally:
        with _lock:
            _owner = None


@contextlib.contextmanager
def all_blas_threads() -> Iterator[None]:
    """Inside ``single_threaded_blas``: give one large call (a pass over a big matrix) all of
    BLAS's threads again. Memory-bound passes over tens of MB run about twice as fast on
    two threads; the hand-off only hurts small calls."""
    blas = _controller
    limiter: Any = contextlib.nullcontext()
    if blas is not None and _owner == threading.get_ident() and _full_threads > 1:
        limiter = blas.limit(limits=_full_threads)
    with limiter:
        yield


def blas_threads() -> int | None:
    """Current BLAS thread count (None when it cannot be controlled)."""
    blas = _blas()
    return None if blas is None else _num_threads(blas)
