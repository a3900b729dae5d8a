"""Grad mode: inside `no_grad()` operations compute data only, and their results are leaves.

As `torch.no_grad`: a context manager and a decorator, it nests, and it applies to the current
thread only (the nesting depth is thread-local).
"""

from __future__ import annotations

import threading
from contextlib import ContextDecorator


class _Depth(threading.local):
    disabled = 0  # how many no_grad() blocks this thread is inside


_depth = _Depth()

# Every operation asks whether grad mode is off, and a thread-local lookup is slow next to a
# global's: so count the threads that are inside no_grad() at all, and while none is (nearly
# always, in training) the answer needs no thread-local lookup.
_threads_inside = 0
_lock = threading.Lock()


def grad_off() -> bool:
    """True inside `no_grad()` (in this thread)."""
    return _threads_inside > 0 and _depth.disabled > 0


def is_grad_enabled() -> bool:
    """False inside `no_grad()`."""
    return not grad_off()


class no_grad(ContextDecorator):
    """Context manager and decorator: operations inside build no graph (results are leaves).

    Nests, and applies to the current thread only, like `torch.no_grad`."""

    def __enter__(self) -> no_grad:
        global _threads_inside
        with _lock:
            _depth.disabled += 1
            _threads_inside += _depth.disabled == 1
        return self

    def __exit__(self, *exc: object) -> None:
        global _threads_inside
        with _lock:
            _depth.disabled -= 1
            _threads_inside -= _depth.disabled == 0


class enable_grad:
    """Inside: grad mode on, whatever the caller's no_grad() says (backward with create_graph
    must build a graph)."""

    def __enter__(self) -> None:
        self.saved, _depth.disabled = _depth.disabled, 0

    def __exit__(self, *exc: object) -> None:
        _depth.disabled = self.saved
