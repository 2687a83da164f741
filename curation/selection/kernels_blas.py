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
import os
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


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def lending_pays() -> bool:
    """Whether lending BLAS threads to a large pass pays: the 1-minute load average (which
    counts this run's own threads) below twice the CPUs this process may use. Measured on 2
    CPUs: at load 2-4 a lent thread sped the memory-bound passes of diversity on 1M x 384 up
    (88 s against 138 s); at load 8-17 it mostly spun waiting for a CPU (diversity on 13k x 384:
    8-14 s wall and 1.2 s CPU lent, 5.2-5.7 s and 0.4 s not). Where it cannot be read, True."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover - not available on every OS
        return True
    return load < 2 * usable_cpus()


@contextlib.contextmanager
def all_blas_threads() -> Iterator[None]:
    """Inside ``single_threaded_blas``: give one large call (a pass over a big matrix) all of
    BLAS's threads again, unless the machine is oversubscribed (``lending_pays``).
    Memory-bound passes over tens of MB run about twice as fast on two threads; the hand-off
    only hurts small calls, and on a busy machine the extra OpenBLAS thread mostly spins."""
    blas = _controller
    limiter: Any = contextlib.nullcontext()
    if (
        blas is not None
        and _owner == threading.get_ident()
        and _full_threads > 1
        and lending_pays()
    ):
        limiter = blas.limit(limits=_full_threads)
    with limiter:
        yield


# a product of at least this many multiply-adds gets every BLAS thread (``blas_threads_for``)
LEND_MAC = 16_000_000


def blas_threads_for(mac: int) -> contextlib.AbstractContextManager[None]:
    """``all_blas_threads()`` for a product of at least ``LEND_MAC`` multiply-adds; smaller
    ones keep the current (single) thread, whose hand-off would cost more than it saves."""
    return all_blas_threads() if mac >= LEND_MAC else contextlib.nullcontext()


def blas_threads() -> int | None:
    """Current BLAS thread count (None when it cannot be controlled)."""
    blas = _blas()
    return None if blas is None else _num_threads(blas)
