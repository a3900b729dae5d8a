"""What the debugging tools cost: one step of micrograd's moons demo (as in bench_moons.py),

- plain (no hook registered anywhere, anomaly mode off: the fast path);
- with one hook registered on an unrelated Value (backward then takes the careful sweep,
  `hooks.sweep`, the reference loop with the hook and anomaly checks);
- inside `detect_anomaly()` (every node records its user line; NaN and leaf checks).

Run: `python benchmarks/bench_debugging.py [--steps N] [--repeats N]`.
"""

from __future__ import annotations

import argparse

from bench_moons import ms_per_step, puretorch_step

import puretorch_scalar as pts
from puretorch_scalar import Value
from puretorch_scalar.demo import micrograd_mlp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=5, help="consecutive steps per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case (best counts)")
    args = parser.parse_args()

    def timed() -> float:
        return ms_per_step(puretorch_step(micrograd_mlp(seed=0)), args.steps, args.repeats)

    plain = timed()
    elsewhere = Value(0.0)  # kept alive: a hook on a node that is garbage goes with it
    handle = elsewhere.register_hook(lambda g: None)
    hooked = timed()
    handle.remove()
    with pts.detect_anomaly():
        anomaly = timed()
    again = timed()

    print("one moons step (MLP 2-16-16-1, 100 points), CPU ms, best of a few runs\n")
    print("| backward | ms per step | relative |")
    print("| --- | ---: | ---: |")
    for name, ms in (
        ("plain: no hook anywhere, anomaly mode off", plain),
        ("a hook registered (on another Value)", hooked),
        ("inside `detect_anomaly()`", anomaly),
        ("plain again, after both", again),
    ):
        print(f"| {name} | {ms:.1f} | {ms / plain:.2f}× |")


if __name__ == "__main__":
    main()
