"""`pts.jit` benchmark: a training step eager, compiled with `pts.jit`, and hand-written on floats,
side by side in one run (CPU time), for the two models of the other benchmarks:

- micrograd's moons step (bench_moons.py): MLP(2, [16, 16, 1]) on 100 points, hinge loss + L2,
  backward, SGD;
- microgpt's GPT step (gpt.py): the 4,192-parameter GPT on one name, cross-entropy, backward,
  Adam.

The floats are `puretorch_scalar.manual`'s hand-written forward and backward (the floor). All
three start from the same weights and must compute the same loss; the compiled step must also
keep the weights equal to eager mode's, to the bit. Tracing and compiling happen at the first
call and are timed apart. The GPT's token ids index its embeddings, so each new name traces
again: the compiled GPT is timed on one name, repeated (as a step is, once traced).
Run: `python benchmarks/bench_jit.py [--steps N] [--repeats N]`.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import bench_moons
import gpt as gpt_bench

from puretorch_scalar import Tensor, jit, manual, nn, optim
from puretorch_scalar.demo import micrograd_mlp
from puretorch_scalar.nn import functional as F

TARGETS = {"moons": 1.3, "GPT": 1.5}  # compiled step / floats step, at most (issue #19)


def moons_steps() -> tuple[dict[str, Callable[[], float]], Callable[[], bool]]:
    """The moons step eagerly, compiled and on floats; and a check that eager and compiled
    weights are equal."""
    models = {name: micrograd_mlp(seed=0) for name in ("eager", "jit")}
    linears = [m for m in models["eager"].modules() if isinstance(m, nn.Linear)]
    layers = [(m.weight.tolist(), m.bias.tolist()) for m in linears]

    def sgd_step(model: object, loss_of: Callable) -> Callable[[], float]:
        opt = optim.SGD(model.parameters(), lr=bench_moons.LR)

        def step() -> float:
            loss = loss_of()
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss.item()

        return step

    def loss_of(model: object) -> Callable:
        def loss() -> object:
            scores = model(Tensor(bench_moons.X, requires_grad=False))
            return F.hinge_loss(scores, bench_moons.Y) + bench_moons.ALPHA * F.l2_penalty(model.parameters())

        return loss

    steps = {
        "eager": sgd_step(models["eager"], loss_of(models["eager"])),
        "jit": sgd_step(models["jit"], jit(loss_of(models["jit"]))),
        "floats": bench_moons.floats_step(layers),
    }
    return steps, lambda: _same_weights(models["eager"], models["jit"])


def gpt_steps(tokens: list[int], vocab_size: int, seed: int) -> tuple[dict, Callable[[], bool]]:
    """The GPT step on one name eagerly, compiled and on floats, microgpt's Adam; and the check."""
    models = {name: gpt_bench.new_model(vocab_size, seed) for name in ("eager", "jit")}
    floats = gpt_bench.floats_gpt(manual.gpt_weights(models["eager"]))

    def adam_step(model: object, loss_of: Callable) -> Callable[[], float]:
        opt = optim.Adam(model.parameters(), lr=gpt_bench.LR, betas=gpt_bench.BETAS)

        def step() -> float:
            loss = loss_of(tokens)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss.item()

        return step

    steps = {
        "eager": adam_step(models["eager"], models["eager"].loss),
        "jit": adam_step(models["jit"], jit(models["jit"].loss)),
        "floats": lambda: floats(tokens, gpt_bench.LR),
    }
    return steps, lambda: _same_weights(models["eager"], models["jit"])


def _same_weights(a: object, b: object) -> bool:
    def numbers(model: object) -> list[float]:
        return [v.data for p in model.parameters() for v in p.values()]

    return numbers(a) == numbers(b)


def compare(name: str, steps: dict[str, Callable[[], float]], same: Callable[[], bool], args: object) -> dict:
    """The first step of each (the compiled one traces and compiles then, timed apart), the same
    loss from all three, then CPU ms per step."""
    t0 = time.process_time()
    first = {"jit": steps["jit"]()}
    trace_ms = (time.process_time() - t0) * 1e3
    first |= {k: step() for k, step in steps.items() if k != "jit"}
    for k, loss in first.items():
        if not math.isclose(loss, first["eager"], rel_tol=1e-9):
            raise AssertionError(f"{name}: {k} computed loss {loss!r}, eager {first['eager']!r}")
    ms = {k: bench_moons.ms_per_step(step, args.steps, args.repeats) for k, step in steps.items()}
    if not same():
        raise AssertionError(f"{name}: the compiled step's weights differ from eager mode's")
    return {"ms": ms, "trace_ms": trace_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=5, help="consecutive steps per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per implementation (best counts)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    tokenizer, docs = gpt_bench.setup(args.seed)
    results = {
        "moons": compare("moons", *moons_steps(), args),
        "GPT": compare("GPT", *gpt_steps(docs[0], tokenizer.vocab_size, args.seed), args),
    }
    print("a training step eager, compiled with pts.jit, and hand-written on floats (CPU ms per step, best")
    print(f"of {args.repeats} runs of {args.steps} steps; the same weights eager and compiled, checked)\n")
    print("| step | eager | jit | floats | jit / floats (target) | eager / jit | trace + compile |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        ms = r["ms"]
        print(
            f"| {name} | {ms['eager']:.2f} | {ms['jit']:.2f} | {ms['floats']:.2f} | "
            f"{ms['jit'] / ms['floats']:.2f}× (≤ {TARGETS[name]}×) | {ms['eager'] / ms['jit']:.1f}× | "
            f"{r['trace_ms']:.0f} ms |"
        )


if __name__ == "__main__":
    main()
