"""Run small matrix products on one BLAS thread.

OpenBLAS splits even small products over threads; on a busy machine with few cores the
threads wait for each other and a product can take 30x longer than on one thread. The
perception classifier's products are small, so it runs them single-threaded. Uses
``threadpoolctl`` when installed, else calls OpenBLAS's own ``set_num_threads`` through
ctypes (Linux); does nothing where neither works.
"""

from __future__ import annotations

import ctypes
import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)

_SET = (
    "openblas_set_num_threads",
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
)
_GET = (
    "openblas_get_num_threads",
    "scipy_openblas_get_num_threads64_",
    "scipy_openblas_get_num_threads",
    "openblas_get_num_threads64_",
)


@functools.cache
def _openblas() -> list[tuple[object, object]]:
    """``(set, get)`` function pairs of every OpenBLAS loaded in this process."""
    out: list[tuple[object, object]] = []
    maps = Path("/proc/self/maps")
    try:
        text = maps.read_text()
    except OSError:
        return out
    paths = sorted({line.split()[-1] for line in text.splitlines() if "openblas" in line.lower()})
    for p in paths:
        if not p.endswith(".so") and ".so." not in p:
            continue
        try:
            lib = ctypes.CDLL(p)
        except OSError:
            continue
        setf = next((getattr(lib, n) for n in _SET if hasattr(lib, n)), None)
        getf = next((getattr(lib, n) for n in _GET if hasattr(lib, n)), None)
        if setf is not None and getf is not None:
            getf.restype = ctypes.c_int
            out.append((setf, getf))
    return out


@contextmanager
def single_blas_thread() -> Iterator[None]:
    """Limit BLAS to one thread inside the ``with`` block (restored afterwards)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
        return
    libs = []
    try:
        import numpy  # noqa: F401  (loads numpy's OpenBLAS before we look for it)

        libs = _openblas()
    except Exception:  # pragma: no cover - best effort only
        logger.debug("cannot limit BLAS threads")
    saved = []
    for setf, getf in libs:
        try:
            saved.append((setf, int(getf())))  # type: ignore[operator]
            setf(1)  # type: ignore[operator]
        except Exception:  # pragma: no cover
            continue
    try:
        yield
    finally:
        for setf, n in saved:
            try:
                setf(n)  # type: ignore[operator]
            except Exception:  # pragma: no cover
                pass
