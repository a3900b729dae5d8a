"""The exercises' checkers: every registered answer passes, a wrong answer fails with a message
naming the expected value, and the notebooks close with their exercises."""

import json
import math
import re
from pathlib import Path

import pytest

from puretorch_scalar import Value, exercises, minimal
from puretorch_scalar.exercises import n00b_by_hand, n03_tensors, n06_digits, n07_higher_order, n08_gpt
from puretorch_scalar.exercises import n10_forward_mode as n10
from puretorch_scalar.exercises import n11_mnist as n11
from puretorch_scalar.exercises import n12_jit as n12
from puretorch_scalar.jit import jit

ROOT = Path(__file__).resolve().parents[1]


class OverwritingAdd(minimal.Value):
    """__add__ with `=` instead of `+=`: c + c gives c only one contribution."""

    def __add__(self, other):
        other = other if isinstance(other, minimal.Value) else OverwritingAdd(other)
        out = OverwritingAdd(self.data + other.data, (self, other))

        def _backward():
            self.grad = out.grad
            other.grad = out.grad

        out._backward = _backward
        return out


class SwappedMul(minimal.Value):
    def __mul__(self, other):
        other = other if isinstance(other, minimal.Value) else SwappedMul(other)
        out = SwappedMul(self.data * other.data, (self, other))

        def _backward():
            self.grad += self.data * out.grad  # ∂(a·b)/∂a taken as a
            other.grad += other.data * out.grad

        out._backward = _backward
        return out


def unary_class(name, f, wrong_derivative):
    def method(self):
        return self._unary(f(self.data), name, wrong_derivative(self.data))

    return type(f"Wrong{name}", (minimal.Value,), {name: method})


class NoExponentGrad(minimal.Value):
    def __pow__(self, other):
        other = other if isinstance(other, minimal.Value) else NoExponentGrad(other)
        out = NoExponentGrad(self.data**other.data, (self, other))

        def _backward():
            self.grad += other.data * self.data ** (other.data - 1) * out.grad

        out._backward = _backward
        return out


def recursive_order(root):
    order, seen = [], set()

    def visit(v):
        if v not in seen:
            seen.add(v)
            for child in v.children:
                visit(child)
            order.append(v)

    visit(root)
    return order


def backward_leaves_first(root):
    root.grad = 1.0
    for node in minimal.topological_order(root):  # not reversed
        node._backward()


def breadth_first_safe(a):
    return a * a + a  # nothing reused by a sibling: nearest-first is right here


def untrained(model, X, y):
    pass


# name -> (a wrong answer, what the failure must say: the expected value)
WRONG = {
    "value_add": (OverwritingAdd, "expected 2, got 1"),
    "value_mul": (SwappedMul, "expected -4.5, got 3"),
    "value_tanh": (unary_class("tanh", math.tanh, lambda x: 1 - x * x), "expected 1.5729, got 1.5"),
    "value_exp": (unary_class("exp", math.exp, lambda x: x), "expected 5.43656, got 2"),
    "value_relu": (unary_class("relu", lambda x: max(x, 0.0), lambda x: 1.0), "expected 0, got 2"),
    "value_pow": (NoExponentGrad, "expected 5.54518, got 0"),
    "topological_order": (recursive_order, "expected an order of 20,001 nodes, got RecursionError"),
    "backward": (backward_leaves_first, "expected 13, got 1"),
    "mse_backward": (
        lambda pred, target: [p - t for p, t in zip(pred, target)],
        "expected [-0.25, -1, 0.25, 0.25]",
    ),
    "tanh_layer_backward": (
        lambda x, W, b, dout: n00b_by_hand.tanh_layer_backward(x, W, b, [[0.0] * 2 for _ in dout]),
        "dx for x (3, 4), W (4, 2), b (2,): expected [[",
    ),
    "cross_entropy_backward": (
        lambda logits, label: [-1.0 if i == label else 0.0 for i in range(len(logits))],
        "expected [-0.340",
    ),
    "layernorm_backward": (lambda x, dy: dy, "expected ["),
    "chain_rule_by_hand": ((-12.0, 4.0, 2.0), "∂f/∂a: expected -2, got -12"),
    "backward_twice": ((12.0, -36.0, -12.0), "r.grad: expected -6, got -12"),
    "sum_over_paths": ((2, 12.0), "expected 3, got 2"),
    "nearest_first_breaks": (breadth_first_safe, "expected a ∂out/∂a that differs from backward's 4, got 4"),
    "count_boxes": ((5, 3), "Value boxes: expected 6, got 5"),
    "next_frame": ((-0.42, 0.84), "a.grad in frame 3: expected -0.419974, got -0.42"),
    "widest_node": (("dot", 10), "expected 18, got 10"),
    "broadcast_shapes": ([(2, 4, 3), (5, 6), (3, 2)], "expected [2, 3], got [3, 2]"),
    "broadcast_gradient": (([[10.0], [26.0], [42.0]], [4.0, 4.0, 4.0, 4.0]), "expected [15, 18, 21, 24]"),
    "matmul_backward": (lambda A, B, dP: (n03_tensors.matmul_backward(A, B, dP)[0], B), "dB: expected ["),
    "unbroadcast": (lambda grad, shape: grad, "expected ["),
    "count_parameters": (32, "expected 41, got 32"),
    "hinge_by_hand": ((2.5, [-1.0, -1.0, 1.0]), "expected [-0.333333, -0.333333, 0.333333]"),
    "sgd_momentum": (
        lambda params, buffers, lr, momentum: [setattr(p, "data", p.data - lr * p.grad) for p in params],
        "after step 2 (lr 0.1, momentum 0.9): expected [",
    ),
    "training_loop": (untrained, "expected 1, got"),
    "central_difference": ((3.0, 0.0), "the estimate: expected 3.01, got 3"),
    "softplus_derivative": (
        lambda x, out: 1 / (1 + math.exp(-x)),
        "✗ expected: on Values it returns a Value",
    ),
    "plant_a_bug": (("relu", lambda x, out: 1.0 if x >= 0 else 0.0), "expected a failing example"),
    "property_test": (lambda: None, "the planted bugs it misses: expected [], got [1, 2"),
    "accuracy": (lambda logits, labels: 0.5, "expected 0."),
    "cross_entropy_value": (math.log(3), "expected 0.41703, got 1.09861"),
    "confusion_matrix": (
        lambda p, t, k: [list(row) for row in zip(*n06_digits.confusion_matrix(p, t, k))],
        "expected [[",
    ),
    "adam_step": (
        lambda p, g, m, v, t, lr, betas, eps: (p - lr * g, m, v),
        "p after step 1 (lr 0.1, betas (0.9, 0.999)): expected 0.9, got 0.95",
    ),
    "second_derivative": (4.0, "expected 8, got 4"),
    "hessian_by_hand": ([[4.0, 2.0], [2.0, 6.0]], "expected [[4, 2], [2, 12]]"),
    "newton_step": (lambda f, x0: x0 - 0.1, "newton_step(x − ln x, 0.5): expected 0.75, got 0.4"),
    "hvp": (lambda f, point, v: n07_higher_order.hvp(f, point, [1.0, 1.0]), "expected ["),
    "count_gpt_parameters": (1184, "expected 1264, got 1184"),
    "causal_mask": (lambda T: [[0.0] * T for _ in range(T)], "causal_mask(3): expected [[0, -inf, -inf]"),
    "temperature": ([0.665241, 0.244728, 0.0900306], "expected [0.866813, 0.11731, 0.0158762]"),
    "attention_head": (lambda q, k, v: n08_gpt.attention_head(q * 2, k, v), "expected [["),
    "softmax_backward": (lambda w, dw: [wi * dwi for wi, dwi in zip(w, dw)], "expected ["),
    "count_paths": ((2, 8.0), "paths from y down to a: expected 3, got 2"),
    "clip_hook": (lambda g: g, "x.grad for y = 10·x, with the hook on x: expected 1, got 10"),
    "find_the_nan": ("exp", "the op: expected '-', got 'exp'"),
    "healthy_lr": (0.5, "within −3 ± 0.5 (it is -1.59)"),
    "dual_div": (lambda a, b: n10.Dual(a.value / b.value, a.tangent / b.tangent), "expected 0.125, got 2"),
    "count_sweeps": ((3, 30, "forward"), "jacfwd's sweeps: expected 30, got 3"),
    "jvp_column": ([2 * math.cos(0.5), 2 * math.sin(0.5)], "expected [-0.958851, 1.75517]"),
    "hvp_forward_over_reverse": (lambda f, point, v: [0.0] * len(point), "expected [0, 1.35128]"),
    "conv_output_size": (
        lambda size, kernel, stride=1, padding=0: (size - kernel) // stride + 1,
        "conv_output_size(28, 5, stride=1, padding=2): expected 28, got 24",
    ),
    "conv_pixel_children": ((52, 52), "the corner pixel's children: expected 20, got 52"),
    "confusion_accuracy": (
        lambda c: (n11.accuracy_and_worst(c)[0], n11.accuracy_and_worst([list(r) for r in zip(*c)])[1]),
        "the worst class of a 10×10 matrix: expected 7, got 1",
    ),
    "conv2d_by_hand": (
        lambda image, kernel, stride, padding: n11.conv2d_by_hand(image, kernel, 1, padding),
        "a 5×5 image, a 3×3 kernel, stride 2, padding 0: expected [[",
    ),
    "count_forward_lines": (4, "expected 5, got 4"),
    "read_a_backward_line": ((math.cos(1.0), 1 + 2 * math.cos(1.0)), "expected 1.0806, got 2.0806"),
    "clip_without_if": (n12.clip_with_if, "clip through jit raised TraceError: jit: comparing a Value (>)"),
}


def test_every_exercise_has_a_wrong_answer_here():
    assert set(WRONG) == set(exercises.list())


@pytest.mark.parametrize("name", exercises.list())
def test_the_registered_answer_passes(name, capsys):
    assert exercises.check(name, exercises.EXERCISES[name].answer) is True
    out = capsys.readouterr().out
    assert "✗" not in out and re.search(r"all \d+ checks? passed", out)


@pytest.mark.parametrize("name", exercises.list())
def test_a_wrong_answer_fails_naming_the_expected_value(name, capsys):
    wrong, says = WRONG[name]
    assert exercises.check(name, wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and says in out, out
    assert f"exercises.solution({name!r})" in out


def test_an_exercise_cell_not_written_yet_fails_politely(capsys):
    class Skeleton(minimal.Value):
        def __add__(self, other):
            raise NotImplementedError("your turn")

    assert exercises.check("value_add", Skeleton) is False
    assert "not written yet: the answer raised NotImplementedError('your turn')" in capsys.readouterr().out


def test_the_placeholder_of_an_exercise_cell_gives_nothing_away(capsys):
    assert exercises.check("count_parameters", ...) is False
    out = capsys.readouterr().out
    assert "not answered yet: replace the ... with your answer" in out and "41" not in out


def test_an_answer_that_raises_is_reported_not_raised(capsys):
    assert exercises.check("chain_rule_by_hand", 3.0) is False
    assert exercises.check("tanh_layer_backward", lambda x, W, b, dout: 1 / 0) is False
    out = capsys.readouterr().out
    assert "how many entries the answer has (∂f/∂a, ∂f/∂b, ∂f/∂c): expected 3, got None" in out
    assert "the answer raised ZeroDivisionError: division by zero" in out


def test_unknown_names_and_notebooks_raise():
    with pytest.raises(KeyError, match="no exercise named 'value_sub'; the exercises are"):
        exercises.check("value_sub", minimal.Value)
    with pytest.raises(KeyError, match="no exercise named 'nope'"):
        exercises.solution("nope")
    with pytest.raises(TypeError, match="the name must be a str, not int: 3"):
        exercises.check(3, None)
    with pytest.raises(ValueError, match="no notebook '99'"):
        exercises.list("99")


def test_list_names_them_notebook_by_notebook():
    assert exercises.list("00")[:2] == ["value_add", "value_mul"]
    notebooks = [exercises.EXERCISES[name].notebook for name in exercises.list()]
    assert notebooks == sorted(notebooks)


def test_solution_prints_the_code_or_the_numbers(capsys):
    exercises.solution("value_add")
    exercises.solution("value_tanh")
    exercises.solution("chain_rule_by_hand")
    out = capsys.readouterr().out
    assert "def __add__(self, other" in out and "self.grad += out.grad" in out
    assert "def _unary(" in out and "def tanh(self)" in out
    assert "f = a²b + ac" in out and "[-2, 4, 2]" in out


def test_a_checker_builds_its_own_leaves():
    """Checkers never touch the learner's Values: a global Value is left as it was."""
    x = Value(1.0)
    exercises.check("chain_rule_by_hand", (-2.0, 4.0, 2.0))
    assert (x.data, x.grad) == (1.0, 0.0)


def notebook_text(stem):
    (path,) = (ROOT / "notebooks").glob(f"{stem}_*.ipynb")
    return "".join("".join(cell["source"]) for cell in json.loads(path.read_text(encoding="utf-8"))["cells"])


@pytest.mark.parametrize("notebook", ["00b", "01", "02", "03", "04", "05", "06", "07", "08", "11", "12"])
def test_each_notebook_closes_with_three_to_five_exercises_it_names(notebook):
    names = exercises.list(notebook)
    assert 3 <= len(names) <= 5
    text = notebook_text(notebook)
    assert "## Exercises" in text
    tail = text[text.index("## Exercises") :]
    missing = [name for name in names if f'"{name}"' not in tail]
    assert not missing, f"notebook {notebook}'s Exercises section does not name {missing}"


def test_the_backward_lines_that_exercise_read_a_backward_line_names_are_what_jit_writes():
    compiled = jit(n12.sine_plus)
    compiled(Value(0.5), Value(2.0))
    source = compiled.program.backward_source(0)
    assert "g_t2 = cos(t2) * g_t3" in source and "g_x += y * g_t2" in source


def test_notebook_00_checks_every_exercise_of_its_own():
    text = notebook_text("00")
    missing = [name for name in exercises.list("00") if f'"{name}"' not in text]
    assert not missing
    assert text.count('raise NotImplementedError("your turn")') >= 5
