"""The modes a thread can be in while it builds graphs: `no_grad()`, and `detect_anomaly()` (in
anomaly.py). Inside `no_grad()` operations compute data only, and their results are data leaves
(`requires_grad=False`), as PyTorch's.

As `torch.no_grad`: a context manager and a decorator, it nests, and it applies to the current
thread only (the nesting depths are thread-local).
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from contextlib import ContextDecorator
from typing import Any


class _Depth(threading.local):
    disabled = 0  # how many no_grad() blocks this thread is inside
    anomaly = 0  # how many detect_anomaly() blocks


_depth = _Depth()

# Every operation asks whether a mode is on, and a thread-local lookup is slow next to a list's:
# so count the threads that are inside any mode at all, in `threads_inside[0]`. While none is
# (nearly always, in training) that one number says so and nodes are built without further
# questions; engine.py's methods read it directly (a function call would cost ~20% of an op).
threads_inside = [0]
_lock = threading.Lock()


def grad_off() -> bool:
    """True inside `no_grad()` (in this thread)."""
    return threads_inside[0] > 0 and _depth.disabled > 0


def anomaly_on() -> bool:
    """True inside `detect_anomaly()` (in this thread)."""
    return threads_inside[0] > 0 and _depth.anomaly > 0


def is_grad_enabled() -> bool:
    """False inside `no_grad()`."""
    return not grad_off()


def enter(mode: str) -> None:
    """One level deeper into `mode` ("disabled" or "anomaly") in this thread."""
    with _lock:
        was_plain = _depth.disabled == _depth.anomaly == 0
        setattr(_depth, mode, getattr(_depth, mode) + 1)
        threads_inside[0] += was_plain


def leave(mode: str) -> None:
    with _lock:
        setattr(_depth, mode, getattr(_depth, mode) - 1)
        threads_inside[0] -= _depth.disabled == _depth.anomaly == 0


class ModeDecorator(ContextDecorator):
    """A context manager that also decorates: the function runs inside the mode; a generator
    function's body runs inside it at every resumption (and the caller's code between two
    `next()` calls outside it), as `torch.no_grad` does."""

    def __call__(self, func: Callable) -> Callable:
        if not inspect.isgeneratorfunction(func):
            return super().__call__(func)

        @functools.wraps(func)
        def generator(*args: Any, **kwargs: Any) -> Any:
            gen = func(*args, **kwargs)
            send, value = gen.send, None
            while True:
                try:
                    with self._recreate_cm():
                        response = send(value)
                except StopIteration as stop:
                    return stop.value
                try:
                    value, send = (yield response), gen.send
                except GeneratorExit:
                    with self._recreate_cm():
                        gen.close()
                    raise
                except BaseException as error:  # thrown in by the caller: into the generator
                    value, send = error, gen.throw

        return generator


class no_grad(ModeDecorator):
    """Context manager and decorator: operations inside build no graph (results are leaves).

    Nests, and applies to the current thread only, like `torch.no_grad`."""

    def __enter__(self) -> no_grad:
        enter("disabled")
        return self

    def __exit__(self, *exc: object) -> None:
        leave("disabled")


class enable_grad:
    """Inside: grad mode on, whatever the caller's no_grad() says (backward with create_graph
    must build a graph)."""

    def __enter__(self) -> None:
        self.saved, _depth.disabled = _depth.disabled, 0

    def __exit__(self, *exc: object) -> None:
        _depth.disabled = self.saved


# ---------------------------------------------------------------------------------------------
# While jit traces a function (jit.py): the engine asks before Python decides on a number.


class _Tracing(threading.local):
    active = False  # True while this thread runs a function for jit to record
    computed: dict | None = None  # Constant -> (f, values), from engine.computed_constant


tracing = _Tracing()


def decided_by_data(what: str) -> None:
    """Called where Python takes a decision from a Value's number (`if v > 0`, `float(v)`,
    comparing Tensors): while this thread traces for jit, TraceError naming `what` and the
    user's line, as a compiled program could only replay the decision taken at tracing."""
    if tracing.active:
        from puretorch_scalar.jit import refuse  # jit is built on the engine: imported when needed

        refuse(what)
