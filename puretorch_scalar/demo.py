"""`make demo`: build an expression, backpropagate, and print every gradient."""

from __future__ import annotations

import argparse

from puretorch_scalar import Value


def expression_demo() -> Value:
    """micrograd's classic neuron: o = tanh(x1·w1 + x2·w2 + b)."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    print("o = tanh(x1*w1 + x2*w2 + b)")
    for v in (x1, x2, w1, w2, b, n, o):
        print(f"  {v.label:>2} = {v.data:8.4f}   do/d{v.label} = {v.grad:8.4f}")
    return o


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="out", help="folder for the pictures and pages")
    parser.parse_args(argv)
    expression_demo()


if __name__ == "__main__":
    main()
