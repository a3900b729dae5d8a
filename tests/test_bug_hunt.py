"""exercises.bug_hunt: each planted bug is found by gradcheck and by a property test, the engine
is restored on leaving (also on an exception), and other threads never see the bug."""

import math
import threading

import pytest
from hypothesis import given, settings

import puretorch_scalar as pts
from puretorch_scalar import Value, grad, ops
from puretorch_scalar.exercises import BUGS, bug_hunt
from puretorch_scalar.gradcheck import GradcheckError, gradcheck
from puretorch_scalar.testing import assert_grads_close, expressions

KS = range(1, len(BUGS) + 1)


def engine_is_pristine():
    return all(ops.get(record.name) is record for record in ops.BUILTINS)


def through(op):
    """f(x) = op(x) inside a little expression, at a point inside op's domain and off its kinks."""
    x0 = -0.6 if op == "abs" else 0.6
    return lambda x: ops.function(op)(x * 1.5) + x, Value(x0, label="x")


def test_at_least_eight_different_bugs_in_different_ops():
    assert len(BUGS) >= 8
    assert len({bug.op for bug in BUGS}) == len(BUGS)


@pytest.mark.parametrize("k", KS)
def test_gradcheck_finds_each_bug_and_leaving_restores_the_engine(k):
    f, x = through(BUGS[k - 1].op)
    assert gradcheck(f, [x])
    with bug_hunt(k):
        assert not engine_is_pristine()
        with pytest.raises(GradcheckError, match="1 of 1 gradients differ"):
            gradcheck(f, [x])
    assert engine_is_pristine()
    assert gradcheck(f, [x])


@settings(max_examples=200, derandomize=True, database=None, deadline=None)
@given(expressions())
def any_expression(expr):
    assert_grads_close(expr, expr.leaves())


@pytest.mark.parametrize("k", KS)
def test_a_property_test_over_every_op_finds_each_bug(k):
    any_expression()  # passes on the engine
    with bug_hunt(k), pytest.raises(AssertionError, match="differ from central differences"):
        any_expression()
    any_expression()


def test_gradients_built_as_graphs_see_the_bug_too():
    """create_graph runs the rules on Values: the planted rule is written to work there as well."""
    assert BUGS[0].op == "tanh"
    x = Value(0.7)
    with bug_hunt(1):
        (slope,) = grad(x.tanh(), [x], create_graph=True)
        (curvature,) = grad(slope, [x])
    assert (slope.data, curvature) == pytest.approx((1 - 0.7**2, -2 * 0.7))


def test_leaving_on_an_exception_restores_the_engine():
    with pytest.raises(ZeroDivisionError):
        with bug_hunt(3):
            raise ZeroDivisionError
    assert engine_is_pristine()
    x = Value(0.5)
    (-x).backward()
    assert x.grad == -1.0


def tanh_slope():
    """d tanh(x)/dx at x = 0.5 by backward, with the rule this thread sees."""
    x = Value(0.5)
    x.tanh().backward()
    return x.grad


def tanh_slope_in_a_thread(ready, go, result):
    ready.set()
    go.wait(5)
    result.append(tanh_slope())


def test_another_thread_keeps_the_right_rule_while_one_hunts():
    ready, go, result = threading.Event(), threading.Event(), []
    other = threading.Thread(target=tanh_slope_in_a_thread, args=(ready, go, result))
    other.start()
    with bug_hunt(1):  # tanh: 1 − x² instead of 1 − tanh²x
        ready.wait(5)
        go.set()  # the other thread backpropagates while this one is inside the hunt
        other.join(5)
        assert tanh_slope() == pytest.approx(1 - 0.5**2)  # the planted bug, here
    assert result == [pytest.approx(1 - math.tanh(0.5) ** 2)]  # the right rule, there


def hunt_in_a_thread(k, inside, leave, result):
    with bug_hunt(k):
        inside.set()
        leave.wait(5)
        result.append(tanh_slope())


def test_a_hunt_in_another_thread_is_invisible_here_and_two_hunts_can_share_an_op():
    inside, leave, result = threading.Event(), threading.Event(), []
    other = threading.Thread(target=hunt_in_a_thread, args=(1, inside, leave, result))
    other.start()
    inside.wait(5)
    assert tanh_slope() == pytest.approx(1 - math.tanh(0.5) ** 2)  # this thread is not hunting
    with bug_hunt(1):  # the same op, hunted here too
        leave.set()
        other.join(5)  # the other thread leaves its hunt: ours stays
        assert tanh_slope() == pytest.approx(1 - 0.5**2)
    assert result == [pytest.approx(1 - 0.5**2)]
    assert engine_is_pristine()


def test_check_says_whether_the_bug_was_found(capsys):
    hunt = bug_hunt(2)
    wrong = next(bug.op for bug in BUGS if bug.op != BUGS[1].op)
    assert hunt.check(wrong) is False
    out = capsys.readouterr().out
    assert f"not {wrong!r}" in out and BUGS[1].op not in out.replace(wrong, "")  # no spoiler
    assert hunt.check(BUGS[1].op) is True
    assert "found!" in capsys.readouterr().out
    with pytest.raises(KeyError, match="no op named 'tan'"):
        hunt.check("tan")


@pytest.mark.parametrize(
    "k, error, message",
    [
        (0, ValueError, "bug_hunt: k must be a positive int, got 0"),
        (len(BUGS) + 1, ValueError, f"bug_hunt: k must be an int from 1 to {len(BUGS)}, got {len(BUGS) + 1}"),
        (2.5, TypeError, r"bug_hunt: k must be a positive int, got 2.5 \(float\)"),
        (True, TypeError, "bug_hunt: k must be a positive int, got True"),
    ],
)
def test_a_bad_k_raises_naming_it(k, error, message):
    with pytest.raises(error, match=message):
        bug_hunt(k)


def test_one_hunt_at_a_time_in_a_thread():
    with bug_hunt(1):
        with pytest.raises(RuntimeError, match="a bug is planted in this thread already"):
            with bug_hunt(2):
                pass
        assert ops.get(BUGS[1].op) is next(r for r in ops.BUILTINS if r.name == BUGS[1].op)
    assert engine_is_pristine()


def test_a_hunt_refuses_to_start_while_a_rule_is_replaced_by_hand():
    cos = ops.get("cos")
    pts.define_op("cos", cos.forward, lambda x, out: ops.sin(x), replace=True)
    try:
        with pytest.raises(RuntimeError, match=r"the rules of \['cos'\] were replaced"):
            with bug_hunt(1):
                pass
    finally:
        pts.undefine_op("cos")
    assert engine_is_pristine()
