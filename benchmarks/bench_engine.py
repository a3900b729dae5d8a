"""Engine benchmark: build + backward time per node, bytes per node, and the deepest graph,
for puretorch_scalar, micrograd (pip's `micrograd`, the `bench` extra) and plain floats, in one run.

The workload is a chain y ← y·w + b (two nodes per step, w and b shared leaves), the shape of a
deep recurrent computation. Run: `python benchmarks/bench_engine.py [--steps N]`.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc

from puretorch_scalar import Value

try:
    from micrograd.engine import Value as MGValue
except ImportError:  # the table then shows only puretorch_scalar and floats
    MGValue = None


def chain(value_cls: type, steps: int) -> tuple:
    w, b = value_cls(0.999), value_cls(0.001)
    x = y = value_cls(0.5)
    for _ in range(steps):
        y = y * w + b
    return x, w, b, y


def floats_chain(steps: int) -> float:
    """The same forward and backward, written by hand with floats: the floor to compare with."""
    w, b, y = 0.999, 0.001, 0.5
    ys = []
    for _ in range(steps):
        ys.append(y)
        y = y * w + b
    gy, gw, gb = 1.0, 0.0, 0.0
    for y_prev in reversed(ys):
        gw += gy * y_prev
        gb += gy
        gy *= w
    return gw + gb + gy


def time_per_node(value_cls: type | None, steps: int, repeats: int = 7) -> float:
    """Best-of-`repeats` CPU microseconds per node for build + backward."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        t0 = time.process_time()
        if value_cls is None:
            floats_chain(steps)
        else:
            graph = chain(value_cls, steps)
            graph[-1].backward()
        best = min(best, time.process_time() - t0)
        graph = None  # free it outside the timed region
    return best / (2 * steps) * 1e6


def bytes_per_node(value_cls: type, steps: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    graph = chain(value_cls, steps)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del graph
    return (after - before) / (2 * steps)


def deepest(value_cls: type, limit: int) -> str:
    """The longest chain (in nodes) whose backward succeeds, trying 10^2 … `limit` nodes."""
    ok = 0
    steps = 50
    while 2 * steps <= limit:
        try:
            *_, y = chain(value_cls, steps)
            y.backward()
        except RecursionError:
            break
        ok = 2 * steps
        steps *= 10
    return f"{ok:,} (RecursionError at {2 * steps:,})" if 2 * steps <= limit else f"{ok:,}+"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=2_000, help="chain steps (2 nodes each)")
    args = parser.parse_args()
    # micrograd's backward recurses (one frame per node): give it headroom for the timed chain
    sys.setrecursionlimit(max(10_000, 4 * args.steps))

    ours_t = time_per_node(Value, args.steps)
    ours_b = bytes_per_node(Value, args.steps)
    flt_t = time_per_node(None, args.steps)
    t0 = time.process_time()
    *_, y = chain(Value, 500_000)
    y.backward()
    million_s = time.process_time() - t0
    y = None
    rows = [("puretorch_scalar", ours_t, ours_b, deepest(Value, 2_000_000))]
    if MGValue is not None:
        mg_t = time_per_node(MGValue, args.steps)
        mg_b = bytes_per_node(MGValue, args.steps)
        sys.setrecursionlimit(1_000)  # Python's default, for the depth column
        rows.append(("micrograd 0.1.0", mg_t, mg_b, deepest(MGValue, 2_000_000)))
    rows.append(("plain floats (hand-written)", flt_t, None, "n/a"))

    print(f"chain y = y*w + b, {args.steps:,} steps = {2 * args.steps:,} nodes; best of 7, CPU time\n")
    print("| engine | build+backward µs/node | bytes/node | deepest graph (nodes) |")
    print("| --- | ---: | ---: | ---: |")
    for name, t, b, depth in rows:
        size = "—" if b is None else f"{b:.0f}"
        print(f"| {name} | {t:.3f} | {size} | {depth} |")
    if MGValue is not None:
        print(f"\nspeed-up vs micrograd: {mg_t / ours_t:.1f}×; memory: {mg_b / ours_b:.1f}× smaller;")
    print(f"cost vs hand-written floats: {ours_t / flt_t:.1f}×")
    print(f"a 1,000,000-node chain: build + backward in {million_s:.2f} s")


if __name__ == "__main__":
    main()
