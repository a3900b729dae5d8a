"""`make bench`: every benchmark in this folder, one after the other, each printing its table.

Each script runs in its own process (so one's garbage does not slow the next) and compares
against micrograd and hand-written floats within its own run. Run a script by hand for its
options (`python benchmarks/bench_engine.py --help`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPTS = [
    "bench_engine.py",
    "bench_tensor.py",
    "bench_moons.py",
    "bench_digits.py",
    "bench_mnist.py",
    "gpt.py",
    "bench_jit.py",
    "bench_jacobian.py",
    "bench_debugging.py",
]


def main() -> int:
    here = Path(__file__).resolve().parent
    failed = []
    for name in SCRIPTS:
        print(f"\n## {name}\n", flush=True)
        if subprocess.run([sys.executable, str(here / name)]).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
