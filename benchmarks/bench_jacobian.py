"""Jacobian benchmark: forward mode against reverse mode on a 1→100 and a 100→1 function.

A Jacobian of n inputs and m outputs takes n forward sweeps (`jacobian(mode="forward")`, one
`jvp` per input) or m reverse sweeps (`mode="reverse"`, one `vjp` per output). Both functions
below share a trunk of `--depth` steps, so a sweep costs about the same in either direction:

    fan_out (1 → 100):  h = trunk(x);          yⱼ = sin(cⱼ·h)          for j = 1…100
    fan_in  (100 → 1):  s = Σᵢ tanh(cᵢ·xᵢ);     y = trunk(s)

CPU time (`time.process_time`), best of `--repeats`, including f's call and taking the local
derivatives, which both modes do once. Prints a markdown table. Run:
`python benchmarks/bench_jacobian.py [--width 100] [--depth 200] [--repeats 7]`.
"""

from __future__ import annotations

import argparse
import gc
import math
import time
from collections.abc import Callable

from puretorch_scalar import Value, jacobian


def trunk(h: Value, depth: int) -> Value:
    for _ in range(depth):
        h = (h * 0.9 + 0.1).tanh()
    return h


def fan_out(width: int, depth: int) -> Callable[[Value], list[Value]]:
    def f(x: Value) -> list[Value]:
        h = trunk(x, depth)
        return [(h * (1.0 + j / width)).sin() for j in range(width)]

    return f


def fan_in(width: int, depth: int) -> Callable[..., Value]:
    def f(*xs: Value) -> Value:
        return trunk(Value.sum((x * (1.0 + i / width)).tanh() for i, x in enumerate(xs)), depth)

    return f


def best_time(call: Callable[[], object], repeats: int) -> float:
    """Best-of-`repeats` CPU seconds of `call()`."""
    best = math.inf
    for _ in range(repeats):
        gc.collect()
        t0 = time.process_time()
        call()
        best = min(best, time.process_time() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--width", type=int, default=100, help="n of the n→1 and m of the 1→m function")
    parser.add_argument("--depth", type=int, default=200, help="steps of the shared trunk (3 nodes each)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    w, d = args.width, args.depth

    cases = [
        ("fan_out", fan_out(w, d), [0.3]),
        ("fan_in", fan_in(w, d), [0.01 * i for i in range(w)]),
    ]
    print(f"Jacobian by both modes; trunk of {d} steps; CPU time, best of {args.repeats}\n")
    print(
        "| function | n → m | forward: sweeps | forward ms | reverse: sweeps | reverse ms | faster "
        "| one sweep ms | shared ms |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
    for name, f, point in cases:
        forward = jacobian(f, point, mode="forward")
        reverse = jacobian(f, point, mode="reverse")
        n, m = len(point), len(forward)
        worst = max(abs(a - b) for row_f, row_r in zip(forward, reverse) for a, b in zip(row_f, row_r))
        assert worst < 1e-12, f"{name}: forward and reverse Jacobians differ by {worst}"
        t_fwd = best_time(lambda f=f, point=point: jacobian(f, point, mode="forward"), args.repeats)
        t_rev = best_time(lambda f=f, point=point: jacobian(f, point, mode="reverse"), args.repeats)
        winner = "forward" if t_fwd < t_rev else "reverse"
        ratio = max(t_fwd, t_rev) / min(t_fwd, t_rev)
        # t = shared + sweeps · one sweep, for both modes: two equations, two unknowns
        sweep = (t_fwd - t_rev) / (n - m) if n != m else math.nan
        shared = t_fwd - n * sweep
        print(
            f"| {name} | {n} → {m} | {n} | {t_fwd * 1e3:.1f} | {m} | {t_rev * 1e3:.1f} "
            f"| {winner}, {ratio:.1f}× | {sweep * 1e3:.3f} | {shared * 1e3:.1f} |"
        )
    print(
        "\nOne sweep per input (forward) or per output (reverse): the mode with fewer sweeps wins. "
        "'shared' is what both modes do once (call f, take the local derivatives), estimated with "
        "'one sweep' from the two times."
    )


if __name__ == "__main__":
    main()
