"""`detect_anomaly()`: make the silent failures of backward loud, and say where they started.

By design (IEEE 754, as in PyTorch) a NaN or an inf travels silently through a graph to the
loss, and a weight whose `.data` is changed between forward and backward silently gives wrong
gradients (the rules read `.data` during backward). Inside `with pts.detect_anomaly():` every
node built records the line of *your* code that built it, and

- forward: the first op that turns inputs that are not NaN into a NaN raises `AnomalyError`
  naming the op, its input values and that line;
- backward: the first NaN gradient raises `AnomalyError` naming the node, its line and the local
  derivative that produced it;
- backward: a leaf whose `.data` changed since a node used it raises `AnomalyError` naming it.

Outside the mode nothing is recorded and nothing is slower: building a node asks one global
whether any thread is in a special mode (grad_mode.py). Like `no_grad`, it nests, is a
decorator too, and applies to the current thread only.
"""

from __future__ import annotations

import linecache
import math
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from puretorch_scalar.grad_mode import ModeDecorator, anomaly_on, enter, leave

__all__ = ["detect_anomaly", "AnomalyError"]

_PACKAGE = str(Path(__file__).resolve().parent)


class AnomalyError(RuntimeError):
    """A NaN appeared, or a leaf changed, inside `detect_anomaly()` (a RuntimeError, as PyTorch's)."""


@dataclass
class Site:
    """Where a node was built: its name in messages and the user's line that built it."""

    name: str
    file: str
    line: int

    def __str__(self) -> str:
        code = linecache.getline(self.file, self.line).strip()
        # Jupyter runs a cell as a file named by a hash, /tmp/ipykernel_<pid>/<hash>.py
        where = (
            f"line {self.line} of a notebook cell"
            if "ipykernel_" in self.file
            else f"{Path(self.file).name}:{self.line}"
        )
        return where + (f": {code}" if code else "")


@dataclass
class _Record:
    sites: dict[Any, Site] = field(default_factory=dict)  # node -> where it was built
    leaves: dict[Any, list[tuple[Any, float]]] = field(default_factory=dict)  # node -> its leaves' data then


class _Records(threading.local):
    current: _Record | None = None


_records = _Records()


class detect_anomaly(ModeDecorator):
    """Context manager and decorator: record where each node is built, and raise `AnomalyError` at
    the first NaN (forward or backward) or at a leaf changed between forward and backward."""

    def __enter__(self) -> detect_anomaly:
        if _records.current is None:
            _records.current = _Record()
        enter("anomaly")
        return self

    def __exit__(self, *exc: object) -> None:
        leave("anomaly")
        if not anomaly_on():
            _records.current = None


def user_line() -> tuple[str, int]:
    """The file and line of the innermost caller outside this package (the user's code)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
    if frame is None:
        return "<unknown>", 0
    return frame.f_code.co_filename, frame.f_lineno


def name(node: Any) -> str:
    """How messages call a node: its label, else the automatic name given when it was built."""
    if node.label:
        return repr(node.label)
    record = _records.current
    site = record.sites.get(node) if record else None
    if site is not None:
        return site.name
    return f"a leaf holding {node.data:.6g}" if not node.children else f"a {node.op!r} node"


def created(node: Any) -> None:
    """Record a node built in anomaly mode; raise if it turned inputs that are not NaN into NaN."""
    record = _records.current
    file, line = user_line()
    site = Site(f"t{len(record.sites) + 1} ({node.op})", file, line)
    record.sites[node] = site
    record.leaves[node] = [(child, child.data) for child in node.children if not child.children]
    inputs = [child.data for child in node.children]
    if math.isnan(node.data) and not any(map(math.isnan, inputs)):
        shown = ", ".join(f"{x:.6g}" for x in inputs)
        raise AnomalyError(
            f"detect_anomaly: forward: the op {node.op!r} made NaN from the inputs ({shown}), "
            f"building {site.name} at {site}"
        )


def check_leaves(order: list) -> None:
    """Before backward: every leaf still holds the data that the nodes built in anomaly mode were
    computed with."""
    record = _records.current
    for node in order:
        for leaf, then in record.leaves.get(node, ()):
            if leaf.data != then and not (math.isnan(leaf.data) and math.isnan(then)):
                site = record.sites[node]
                leaf_name = f"the leaf {leaf.label!r}" if leaf.label else "an unlabelled leaf"
                raise AnomalyError(
                    f"detect_anomaly: backward: {leaf_name} held {then:.6g} when {site.name} used it at "
                    f"{site}, and holds {leaf.data:.6g} now: its .data was changed between forward and "
                    "backward, so the gradients would be computed with the wrong numbers"
                )


def check_contribution(node: Any, child: Any, local: Any, grad: Any, contribution: Any) -> None:
    """During backward: raise at the first NaN gradient that the chain rule produced at `node`."""
    value = _number(contribution)
    if not math.isnan(value) or math.isnan(_number(grad)):
        return
    record = _records.current
    site = record.sites.get(node) if record else None
    where = f", built at {site}" if site else ""
    raise AnomalyError(
        f"detect_anomaly: backward: NaN gradient for {name(child)} from {name(node)}{where}: "
        f"its local derivative with respect to {name(child)} is {_number(local):.6g}, and the "
        f"gradient arriving at it is {_number(grad):.6g}"
    )


def _number(x: Any) -> float:
    return float(getattr(x, "data", x))
