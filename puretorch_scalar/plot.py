"""Pictures for notebooks: the curves of a `fit` history, and a model's 2-D decision boundary.

    fig = plot_history(history)                       # loss (and accuracy) per epoch
    fig = plot_diagnostics(history)                   # fit(..., diagnostics=True)'s numbers per step
    ax = plot_decision_boundary(model, X, y)          # the plane coloured by predicted class
    ax.figure.savefig("moons.png")

Needs matplotlib (the `notebooks` extra), imported only when one of these is called.
"""

from __future__ import annotations

from typing import Any

from puretorch_scalar.nn.module import Module
from puretorch_scalar.tensor import Tensor
from puretorch_scalar.train import History, evaluating, predict

__all__ = ["plot_history", "plot_decision_boundary", "plot_diagnostics"]


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            "puretorch_scalar.plot needs matplotlib: pip install 'puretorch_scalar[notebooks]'"
        ) from error
    return plt


def plot_history(history: History, val_label: str = "validation") -> Any:
    """A figure with the loss per epoch and, when it was measured, the accuracy per epoch; the
    curves of `fit`'s `val_data` beside the training ones when the history has them, labelled
    `val_label` (say "test" when the held-out data is the test set). Returns the Figure."""
    curves = [("loss", "loss")]
    if any(a is not None for a in history.get("accuracy", [])):
        curves.append(("accuracy", "accuracy"))
    fig, axes = _pyplot().subplots(1, len(curves), figsize=(5 * len(curves), 3.5), squeeze=False)
    for ax, (key, title) in zip(axes[0], curves):
        epochs = range(1, len(history[key]) + 1)
        ax.plot(epochs, history[key], label="train")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], label=val_label)
            ax.legend()
        ax.set_xlabel("epoch")
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_decision_boundary(
    model: Module, X: Any, y: Any, ax: Any = None, resolution: int = 60, margin: float = 0.5
) -> Any:
    """The plane around the 2-D points X, coloured by the class the model predicts at each point
    of a `resolution` × `resolution` grid (the rules of `train.predict`: argmax, or a threshold
    for one output), with the points on top coloured by their labels y. Returns the Axes."""
    X = X.tolist() if isinstance(X, Tensor) else [list(map(float, row)) for row in X]
    y = y.tolist() if isinstance(y, Tensor) else list(y)
    if not X or len(X[0]) != 2:
        raise ValueError(
            f"plot_decision_boundary needs points with 2 coordinates, got {len(X[0]) if X else 0}"
        )
    classes = sorted(set(y))
    lows = [min(p[d] for p in X) - margin for d in (0, 1)]
    highs = [max(p[d] for p in X) + margin for d in (0, 1)]
    xs, ys = (
        [lo + (hi - lo) * i / (resolution - 1) for i in range(resolution)] for lo, hi in zip(lows, highs)
    )
    grid = [[u, v] for v in ys for u in xs]  # row-major: one row of the picture per y
    with evaluating(model):
        outputs = model(Tensor(grid))
    predicted = predict(outputs, set(classes))
    if predicted is None:
        raise ValueError(f"plot_decision_boundary needs class labels, got the values {classes[:5]}")

    plt = _pyplot()
    if ax is None:
        ax = plt.subplots(figsize=(5, 5))[1]
    colours = {"cmap": "coolwarm", "vmin": classes[0], "vmax": classes[-1]}
    Z = [predicted[i * resolution : (i + 1) * resolution] for i in range(resolution)]
    levels = [c - 0.5 for c in classes] + [classes[-1] + 0.5]  # one band per class
    ax.contourf(xs, ys, Z, levels=levels, alpha=0.35, **colours)
    ax.scatter([p[0] for p in X], [p[1] for p in X], c=y, edgecolors="k", s=25, **colours)
    ax.set_xlim(lows[0], highs[0])
    ax.set_ylim(lows[1], highs[1])
    return ax


def plot_diagnostics(history: History) -> Any:
    """The numbers `fit(..., diagnostics=True)` recorded, per step and per parameter: the
    update-to-data ratio (log10, with the healthy −3 dashed), the gradient's std, and the
    fraction of dead units of each weight matrix. Returns the Figure."""
    if "diagnostics" not in history:
        raise ValueError(
            "plot_diagnostics: the history has no diagnostics; train with fit(..., diagnostics=True)"
        )
    panels = [
        ("update_ratio", "update / data (log10)"),
        ("grad_std", "gradient std"),
        ("dead", "dead units (weight rows with zero gradient)"),
    ]
    fig, axes = _pyplot().subplots(1, 3, figsize=(15, 3.5))
    for ax, (key, title) in zip(axes, panels):
        for name, record in history["diagnostics"].items():  # a bias's "dead" is NaN: not drawn
            ax.plot(record[key], label=name)
        ax.set_xlabel("step")
        ax.set_title(title)
    axes[0].axhline(-3, color="k", linestyle="--", linewidth=0.8)
    axes[1].set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig
