"""Move a number, watch the gradients move: `explore`.

    explore(neuron, x1=2.0, x2=0.0, w1=-3.0, w2=1.0, b=6.8813735870195432)

shows one slider per leaf above the graph of `neuron(x1=Value(2.0, label="x1"), …)`, drawn by
`draw_graph` after one backward pass, so every box carries its data and its gradient. Moving a
slider re-runs forward and backward at the new numbers and redraws the picture: the chain rule's
products change under your hand (with `x2 = 0`, ∂o/∂w2 = x2·∂o/∂n is 0; move x2 and it is not).

A slider starts at the leaf's value and reaches max(1, 2·|value|) either side of it (past 0 and
back), in steps of 1, 2 or 5 × 10ᵏ, about 100 each way. Its positions are the value plus whole
steps, so the slider can show the value itself: Jupyter's sliders snap to their positions, and
would otherwise change it (micrograd's b = 6.8813… to 6.8). For another range or step pass an
`ipywidgets.FloatSlider` instead of the number, or change the slider afterwards:
`explorer.sliders["b"].max = 20`.

It is an ipywidgets widget, so it needs a running kernel. In a static copy of the notebook
(GitHub, nbconvert's HTML, the docs site) nothing can re-run: there it shows the picture at the
values the notebook ran with, and a note saying so.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from html import escape
from typing import Any

from puretorch_scalar import checks
from puretorch_scalar.engine import Value
from puretorch_scalar.viz.graph import draw_graph, fmt, output_values
from puretorch_scalar.viz.steps import inline_svg

STATIC_NOTE = "A static copy: in a running notebook the sliders re-run forward and backward."


def default_slider_range(value: float) -> tuple[float, float, float]:
    """(min, max, step) of a leaf's slider: `value` ± max(1, 2·|value|) in steps of a round size,
    about 100 each way, and `value` itself one of the positions."""
    reach = max(1.0, 2 * abs(value))
    step = _round_up(reach / 100)
    n = math.ceil(reach / step - 1e-9)  # whole steps each way
    return value - n * step, value + n * step, step


def _round_up(x: float) -> float:
    """The smallest 1, 2 or 5 × 10ᵏ at least `x`."""
    power = 10.0 ** math.floor(math.log10(x))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= x * (1 - 1e-12))


class Explorer:
    """What `explore` returns; in a notebook it displays as the widget.

    sliders: one `ipywidgets.FloatSlider` per leaf, by name (setting `.value` re-runs too)
    leaves:  the leaf Values of the last run, by name; `.grad` is ∂output/∂leaf
    output:  the Value `f` returned on the last run
    widget:  the whole `ipywidgets.VBox` (sliders, picture, a line with the numbers)
    error:   why the last slider move could not be run (what `f` raised), or ""
    """

    def __init__(self, f: Callable[..., Any], sliders: dict[str, Any], widgets: Any) -> None:
        self.f = f
        self.sliders = sliders
        self.error = ""
        self.picture = widgets.HTML()
        self.summary = widgets.HTML()
        self.widget = widgets.VBox([*sliders.values(), self.picture, self.summary])
        self._run()  # the first run raises: a wrong f fails at once, not at the first move
        for slider in sliders.values():
            slider.observe(self._moved, names="value")

    def _run(self) -> None:
        """Forward and backward at the sliders' values, then the picture; nothing is replaced
        until all of it has worked."""
        leaves = {name: Value(float(slider.value), label=name) for name, slider in self.sliders.items()}
        outputs = output_values(self.f(**leaves), "explore")
        if len(outputs) != 1:
            raise ValueError(
                f"explore: f must return one Value (or a one-element Tensor), got {len(outputs)}"
            )
        output = outputs[0]
        output.backward()
        svg = inline_svg(draw_graph(output))
        self.leaves, self.output, self.error = leaves, output, ""
        self.picture.value = svg
        self.summary.value = f"<code>{escape(self._numbers())}</code>"

    def _moved(self, change: dict) -> None:
        try:
            self._run()
        except Exception as error:  # whatever f raises at these numbers: say so, keep the last picture
            self.error = f"{type(error).__name__}: {error}"
            self.summary.value = f'<code style="color: #e03131">f failed here: {escape(self.error)}</code>'

    def _numbers(self) -> str:
        """`o = 0.7071;  ∂o/∂x1 = -1.5,  ∂o/∂x2 = 0.5, …`"""
        name = self.output.label or "f"
        grads = ",  ".join(f"∂{name}/∂{leaf} = {fmt(v.grad)}" for leaf, v in self.leaves.items())
        return f"{name} = {fmt(self.output.data)};  {grads}"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        """The widget for a live notebook, and a still picture (text/html) that static viewers
        fall back to: without stored widget state they cannot show the widget."""
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/html"] = (
            f"<div>{self.picture.value}<p>{self.summary.value}</p><p><i>{STATIC_NOTE}</i></p></div>"
        )
        return bundle


def explore(f: Callable[..., Any], /, **leaves: float | Any) -> Explorer:
    """A Jupyter widget: a slider per leaf; moving one re-runs forward and backward and redraws
    the graph of `f` with the new data and gradients.

    `f` takes the leaves as keyword arguments (Values labelled with their names) and returns one
    Value (or a one-element Tensor). Each leaf is a real number (its slider's start; see the
    module docstring for the default range) or an `ipywidgets.FloatSlider` of your own."""
    try:
        import ipywidgets as widgets
    except ImportError:
        raise ImportError(
            "explore needs ipywidgets: pip install ipywidgets (it comes with puretorch_scalar[notebooks])"
        ) from None
    if not callable(f):
        raise checks.ArgumentTypeError(
            f"explore: f must be a function of the leaves, got {f!r} ({type(f).__name__})"
        )
    if not leaves:
        raise ValueError("explore: give at least one leaf to slide, e.g. explore(f, x=2.0)")
    try:
        inspect.signature(f).bind(**leaves)
    except TypeError as error:
        raise TypeError(f"explore: f cannot take the leaves {', '.join(leaves)}: {error}") from None
    except ValueError:  # a callable without a signature to check: the first run will tell
        pass
    sliders = {}
    for name, spec in leaves.items():
        if isinstance(spec, widgets.FloatSlider):
            spec.description = spec.description or name
            sliders[name] = spec
        else:
            value = checks.real(spec, name, "explore")
            low, high, step = default_slider_range(value)
            sliders[name] = widgets.FloatSlider(
                value=value, min=low, max=high, step=step, description=name, readout_format=".4"
            )
    return Explorer(f, sliders, widgets)
