"""pts.jit: compiled programs compute eager mode's numbers exactly (the same float operations in
the same order), values and gradients, call after call; what cannot be traced raises
TraceError naming the line; check=True catches what tracing cannot see."""

import math
import random
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import puretorch_scalar as pts
from puretorch_scalar import Tensor, Value, data, nn, no_grad, optim
from puretorch_scalar.demo import micrograd_mlp, train_like_micrograd
from puretorch_scalar.jit import MAX_PROGRAMS, TracedValue, TraceError, jit
from puretorch_scalar.models import GPT, GPTConfig
from puretorch_scalar.nn import functional as F
from puretorch_scalar.testing import expressions

HERE = Path(__file__).name


def same(a, b):
    """Equal floats, NaN included: what "exactly" means here."""
    return a == b or (a != a and b != b)


def numbers(values):
    return [v.data for v in values]


def grads(values):
    return [v.grad for v in values]


def parameters(model):
    return [v for p in model.parameters() for v in p.values()]


def line_of(text):
    """The line number in this file of the line that contains `text`."""
    lines = Path(__file__).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line and "line_of" not in line)


# -- random expressions ----------------------------------------------------------------------


@given(expressions(), st.data())
def test_jit_equals_eager_on_random_expressions(expr, data):
    """Some inputs passed as arguments (Values, or data without gradient), the others reached
    from a closure (as parameters are); three calls at moving points, each followed by backward
    (twice on the last call); every output and every gradient equal eager mode's, or both raise
    the same error."""
    n = len(expr.inputs)
    passed = data.draw(st.lists(st.booleans(), min_size=n, max_size=n), label="passed")
    learns = data.draw(st.lists(st.booleans(), min_size=n, max_size=n), label="learns")

    def function_of(leaves):
        closed = {i: leaves[i] for i in range(n) if not passed[i]}

        def fn(*args):
            given = iter(args)
            return expr(*[next(given) if passed[i] else closed[i] for i in range(n)])

        return fn

    eager_leaves, jit_leaves = expr.leaves(), expr.leaves()
    eager_fn, compiled = function_of(eager_leaves), jit(function_of(jit_leaves))
    for call, scale in enumerate((1.0, 1.01, 0.98)):
        for leaves in (eager_leaves, jit_leaves):
            for leaf, x in zip(leaves, expr.inputs):
                leaf.data, leaf.grad = x * scale, 0.25 * call
            leaves[:] = [
                Value(leaf.data, leaf.label, requires_grad=learns[i]) if passed[i] else leaf
                for i, leaf in enumerate(leaves)
            ]
        args = [[v for v, p in zip(leaves, passed) if p] for leaves in (eager_leaves, jit_leaves)]
        try:
            want = eager_fn(*args[0])
        except Exception as error:
            with pytest.raises(type(error)):
                compiled(*args[1])
            continue
        got = compiled(*args[1])
        assert same(got.data, want.data) and got.requires_grad == want.requires_grad
        for _ in range(1 + (call == 2)):
            try:
                want.backward()
            except Exception as error:
                with pytest.raises(type(error)):
                    got.backward()
                break
            got.backward()
            assert all(map(same, grads(jit_leaves), grads(eager_leaves)))


# -- models, over several calls with optimizer steps in between -----------------------------


def train_both(make_model, make_optimizer, loss_of, batches):
    """The same model trained eagerly and through jit, batch by batch: the losses and then the
    weights are equal to the bit."""
    eager, compiled_model = make_model(), make_model()
    optimizers = make_optimizer(eager), make_optimizer(compiled_model)
    compiled = jit(loss_of(compiled_model))
    for batch in batches:
        for model, opt, loss in zip((eager, compiled_model), optimizers, (loss_of(eager), compiled)):
            opt.zero_grad()
            out = loss(*batch)
            out.backward()
            opt.step()
            model.last = out.item()
        assert compiled_model.last == eager.last
        assert numbers(parameters(compiled_model)) == numbers(parameters(eager))
    return compiled


def moons_batches(n=16, count=4):
    X, labels = data.make_moons(n * count, noise=0.1, seed=1)
    Y = [2 * t - 1 for t in labels]
    return [(X[k * n : (k + 1) * n], Y[k * n : (k + 1) * n]) for k in range(count)]


def test_micrographs_mlp_with_hinge_loss_and_l2_trains_as_eagerly():
    def loss_of(model):
        def loss(X, y):
            scores = model(Tensor(X, requires_grad=False))
            return F.hinge_loss(scores, y) + 1e-4 * F.l2_penalty(model.parameters())

        return loss

    compiled = train_both(
        lambda: micrograd_mlp(seed=0), lambda m: optim.SGD(m.parameters(), lr=0.5), loss_of, moons_batches()
    )
    assert compiled.cache_size == 1  # new inputs and labels, new weights: the same program


def test_mlp_with_cross_entropy_and_adam_trains_as_eagerly():
    random.seed(3)
    X = [[random.uniform(-1, 1) for _ in range(4)] for _ in range(12)]
    labels = [random.randrange(3) for _ in range(12)]

    def make():
        random.seed(0)
        return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))

    def loss_of(model):
        return lambda X, y: F.cross_entropy(model(Tensor(X)), y)

    batches = [(X[:6], labels[:6]), (X[6:], labels[6:]), (X[:6], labels[:6])]
    compiled = train_both(make, lambda m: optim.Adam(m.parameters(), lr=0.05), loss_of, batches)
    # class indices pick what enters the loss: each set of labels has a program of its own
    assert compiled.cache_size == 2


def test_gpt_trains_as_eagerly():
    config = GPTConfig(vocab_size=5, block_size=6, n_embd=8, n_head=2)

    def make():
        random.seed(0)
        return GPT(config)

    docs = [([0, 3, 1, 4, 0],), ([0, 3, 1, 4, 0],), ([0, 2, 2, 1, 0],), ([0, 1, 0],)]
    compiled = train_both(make, lambda m: optim.Adam(m.parameters(), lr=0.01), lambda m: m.loss, docs)
    assert compiled.cache_size == 3  # the tokens index the embeddings: one program per document


def test_conv_net_trains_as_eagerly():
    def make():
        random.seed(0)
        return nn.Sequential(
            nn.Conv2d(1, 2, 3), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(2 * 2 * 2, 1)
        )

    rng = random.Random(1)
    images = [[[[rng.uniform(-1, 1) for _ in range(6)] for _ in range(6)]] for _ in range(6)]
    targets = [rng.uniform(-1, 1) for _ in range(6)]

    def loss_of(model):
        return lambda x, y: F.mse_loss(model(Tensor(x, requires_grad=False)), y)

    batches = [(images[:3], targets[:3]), (images[3:], targets[3:])]
    compiled = train_both(make, lambda m: optim.SGD(m.parameters(), lr=0.1, momentum=0.9), loss_of, batches)
    assert compiled.cache_size == 1


def test_fit_with_jit_trains_micrographs_demo_to_the_same_weights():
    X, labels = data.make_moons(100, noise=0.1, seed=0)
    Y = [2 * t - 1 for t in labels]
    models, histories = [], []
    for compiled in (False, True):
        model = micrograd_mlp(seed=0)
        histories.append(train_like_micrograd(model, X, Y, epochs=12, seed=0, jit=compiled))
        models.append(model)
    assert histories[0] == histories[1]
    assert numbers(parameters(models[0])) == numbers(parameters(models[1]))


# -- what a program reads afresh and what it takes as fixed ---------------------------------


def test_a_new_shape_traces_again_and_an_old_one_finds_its_program():
    w = Value(0.5)
    f = jit(lambda xs: Value.sum([x * w for x in xs]))
    f([1.0, 2.0])
    f([3.0, 4.0])
    assert f.cache_size == 1
    assert f([1.0, 2.0, 3.0]).data == 3.0
    assert f.cache_size == 2
    f(Tensor([1.0, 2.0]).values())
    assert f.cache_size == 3  # Values instead of floats: another structure
    assert f([5.0, 6.0]).data == 5.5 and f.cache_size == 3


def test_gradients_reach_the_argument_values_and_accumulate_as_eagerly():
    w = Value(-1.5)
    f = jit(lambda x, y: (x * y + w).tanh())
    x, y = Value(0.3), Value(2.0)
    out = f(x, y)
    assert isinstance(out, TracedValue)
    out.backward()
    out.backward()
    x2, y2, w2 = Value(0.3), Value(2.0), Value(-1.5)
    eager = (x2 * y2 + w2).tanh()
    eager.backward()
    eager.backward()
    assert (x.grad, y.grad, w.grad, out.grad) == (x2.grad, y2.grad, w2.grad, eager.grad)


def test_data_arguments_get_no_gradient_and_no_backward_code():
    w = Value(2.0)
    f = jit(lambda x: (x * w).exp())
    x = Value(0.5, requires_grad=False)
    f(x).backward()
    assert x.grad == 0.0 and w.grad == math.exp(1.0) * 0.5
    assert "g_x" not in f.source.split("def backward")[1].split(")", 1)[1]


def test_numbers_taken_from_the_arguments_are_read_at_every_call():
    """A loss reads its targets as Python floats; detach() takes a number out of the graph."""
    w = Value(1.0)

    def loss(pred, target, w):
        return F.mse_loss(Tensor([p * w for p in pred]), target) + Tensor(pred[0]).detach() * w

    f = jit(lambda pred, target: loss(pred, target, w))
    for pred, target in (([1.0, 2.0], [0.5, 0.0]), ([3.0, -1.0], [1.5, 2.0])):
        assert f(pred, target).item() == loss(pred, target, Value(1.0)).item()
    assert f.cache_size == 1


def test_no_grad_inside_the_function_is_computed_at_every_call():
    w = Value(0.7)

    def f(x):
        with no_grad():
            c = (x * 2 + w).exp()
        return x * c + w * c

    compiled = jit(f)
    for x in (0.5, -1.25):
        a, b = Value(x), Value(x)
        got, want = compiled(a), f(b)
        assert got.data == want.data
        got.backward()
        ga, w.grad = (a.grad, w.grad), 0.0
        want.backward()
        assert ga == (b.grad, w.grad)
        w.grad = 0.0
    assert compiled.cache_size == 1


def test_define_op_ops_run_their_own_functions():
    softplus = pts.define_op(
        "softplus_jit",
        forward=lambda x: math.log1p(math.exp(x)),
        derivative=lambda x, out: pts.ops.sigmoid(x),
    )
    pts.define_op("hypot_jit", forward=math.hypot, derivative=lambda a, b, out: (a / out, b / out), arity=2)
    try:
        w = Value(0.3)
        f = jit(lambda x: softplus(x * w).hypot_jit(x))
        for x in (1.0, -2.0):
            a, b, w.grad, w2 = Value(x), Value(x), 0.0, Value(0.3)
            got, want = f(a), softplus(b * w2).hypot_jit(b)
            got.backward()
            want.backward()
            assert (got.data, a.grad, w.grad) == (want.data, b.grad, w2.grad)
        assert "softplus_jit(" in f.source and "d_hypot_jit(" in f.source
    finally:
        pts.undefine_op("softplus_jit")
        pts.undefine_op("hypot_jit")


def test_a_rule_replaced_after_tracing_traces_again():
    f = jit(lambda x: x.tanh())
    x = Value(0.5)
    f(x).backward()
    pts.define_op("tanh", forward=math.tanh, derivative=lambda x, out: 2.0, replace=True)
    try:
        y = Value(0.5)
        f(y).backward()
        assert y.grad == 2.0 and x.grad != 2.0 and f.cache_size == 2
    finally:
        pts.undefine_op("tanh")


def test_tensor_outputs_and_several_outputs():
    layer = nn.Linear(3, 2)
    f = jit(lambda x: (layer(x).tanh(), layer(x).sum()))
    X = [[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]]
    out, total = f(X)
    assert out.shape == (2, 2) and out.tolist() == layer(X).tanh().tolist()
    total.backward()
    compiled = [layer.weight.grad, layer.bias.grad]
    layer.zero_grad()
    layer(X).sum().backward()
    assert compiled == [layer.weight.grad, layer.bias.grad]


def test_the_same_value_twice_is_another_structure_than_two_values():
    f = jit(lambda a, b: a * b)
    x = Value(3.0)
    out = f(x, x)
    out.backward()
    assert (out.data, x.grad) == (9.0, 6.0)
    y, z = Value(3.0), Value(4.0)
    f(y, z).backward()
    assert (y.grad, z.grad, f.cache_size) == (4.0, 3.0, 2)


def test_keyword_arguments_and_calls_under_no_grad():
    f = jit(lambda x, scale=1.0: (x * scale).exp())
    assert f(Value(2.0), scale=3.0).data == math.exp(6.0) and f(Value(2.0), scale=0.5).data == math.exp(1.0)
    assert f.cache_size == 1
    with no_grad():  # another program, with no gradients anywhere
        out = f(Value(2.0), scale=0.5)
    assert out.data == math.exp(1.0) and not out.requires_grad and f.cache_size == 2


def test_an_argument_that_the_function_also_reaches_is_refused():
    w = Value(2.0)
    f = jit(lambda x: x * w + w)
    f(Value(1.0))
    with pytest.raises(TypeError, match="an argument is also a leaf that the function reaches itself"):
        f(w)


def test_a_function_called_inside_a_traced_one_is_part_of_its_trace():
    inner = jit(lambda x: x * x)
    outer = jit(lambda x: inner(x) + 1.0)
    assert outer(Value(3.0)).data == 10.0
    assert inner.cache_size == 0 and outer.cache_size == 1


def test_tracing_under_a_profiler_gives_the_profiler_back():
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        jit(lambda x: x * 2)(Value(1.0))
        after = sys.getprofile()
    finally:
        profiler.disable()
    assert after is profiler


def test_after_max_programs_traces_calls_run_eagerly_with_a_warning():
    f = jit(lambda n: Value(float(n)) * 2)
    for n in range(MAX_PROGRAMS):
        f(n)  # a bare int is fixed: one program each
    with pytest.warns(UserWarning, match="run eagerly"):
        out = f(100)
    assert out.data == 200.0 and not isinstance(out, TracedValue) and f.cache_size == MAX_PROGRAMS


# -- readable output ---------------------------------------------------------------------------


def test_source_and_program_name_parameters_and_layers():
    random.seed(0)
    model = nn.MLP(2, [3, 1])
    f = jit(lambda x: model(x).sum())
    f([[1.0, 2.0]])
    source, table = f.source, str(f.program)
    assert "def forward(P, A):" in source and "def backward(P, A, S, GP, GA, g):" in source
    assert "model_0_weight_0_0" in source and "g_model_0_weight_0_0 +=" in source
    assert "# model.0: Linear(in_features=2, out_features=3, bias=True)" in source
    assert "model.0.weight[0, 0]" in table and "argument x[0][0]" in table
    assert len(f.program) == len(table.splitlines()) - 1
    compile(source, "<source>", "exec")  # what is shown is what runs


def test_source_before_the_first_call_says_so():
    with pytest.raises(ValueError, match="first call"):
        print(jit(lambda x: x).source)


def test_the_docs_page_shows_what_jit_prints(capsys, tmp_path):
    """The page's example, saved as example.py as the page says, prints what the page shows."""
    page = (Path(__file__).parents[1] / "docs" / "api" / "jit.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", page, re.S).group(1)
    shown = re.search(r"```text\n(.*?)```", page, re.S).group(1)
    example = tmp_path / "example.py"
    example.write_text(code, encoding="utf-8")
    exec(compile(code, str(example), "exec"), {})
    assert capsys.readouterr().out == shown, "update the output shown in docs/api/jit.md"


# -- what cannot be traced -----------------------------------------------------------------------


def test_an_if_on_a_value_raises_trace_error_naming_the_line():
    def f(v):
        if v > 0:  # the line the error names
            return v * 2
        return v

    where = f"{HERE}:{line_of('if v > 0:')}: if v > 0:"
    with pytest.raises(TraceError, match=rf"comparing a Value \(>\) while tracing, at {re.escape(where)}"):
        jit(f)(Value(1.0))
    assert f(Value(1.0)).data == 2.0  # eagerly, fine


@pytest.mark.parametrize(
    "body, what",
    [
        (lambda v: v * 2 if v else v, "the truth value of a Value"),
        (lambda v: Value(math.exp(v)), r"float\(\) of a Value"),
        (lambda v: Value(v.item()), r"\.item\(\) of a Value"),
        (lambda v: Tensor([v, v * 2]) > 0, "comparing Tensors"),
        (lambda v: Tensor([v, v * 2]).max(), "Tensor.max or argmax"),
        (lambda v: Tensor([v, v * 2]).argmax(), "Tensor.max or argmax"),
    ],
)
def test_python_decisions_on_numbers_raise_trace_error(body, what):
    with pytest.raises(TraceError, match=what):
        jit(body)(Value(1.0))


def test_check_catches_a_python_float_that_changed_since_tracing():
    scale = {"now": 2.0}
    f = jit(lambda x: x * scale["now"], check=True)
    assert f(Value(3.0)).data == 6.0
    scale["now"] = 3.0
    with pytest.raises(TraceError, match=r"the output is 6.0 compiled but 9.0 eagerly"):
        f(Value(3.0))


def test_check_catches_a_wrong_gradient(monkeypatch):
    w = Value(2.0, "w")
    f = jit(lambda x: x * w, check=True)
    f(Value(3.0)).backward()
    program = f.program
    right = program.backward_code

    def wrong(position):
        code, reached = right(position)
        return (lambda *args: ((args[3][0] + 1.0,), *code(*args)[1:])), reached

    monkeypatch.setattr(program, "backward_code", wrong)
    out = f(Value(3.0))
    with pytest.raises(TraceError, match=r"gradients differ: w: 4.0 compiled, 6.0 eagerly"):
        out.backward()


# -- errors --------------------------------------------------------------------------------------


def test_errors_name_what_is_wrong():
    with pytest.raises(TypeError, match="jit: fn must be callable, not int"):
        jit(3)
    f = jit(lambda x: x)
    with pytest.raises(TypeError, match="not dict"):
        f({"a": 1.0})
    with pytest.raises(TypeError, match="not Linear.*reached from the function itself"):
        f(nn.Linear(1, 1))
    with pytest.raises(TypeError, match="arguments must be leaves, but one is a '\\*' node"):
        f(Value(1.0) * 2)
    with pytest.raises(
        TypeError, match="must return a Value, a Tensor, or a tuple or list of them; it returned"
    ):
        jit(lambda x: 2.0)(1.0)
    out = jit(lambda x: x * 2)(Value(1.0))
    with pytest.raises(ValueError, match="create_graph"):
        out.backward(create_graph=True)


def test_program_and_source_are_those_of_the_last_call():
    f = pts.jit(lambda xs: Value.sum(xs))
    f([1.0, 2.0])
    two = f.source
    f([1.0, 2.0, 3.0])
    assert f.source != two and f.cache_size == 2
    f([4.0, 5.0])  # the first program again, from the cache
    assert f.source == two and len(f.program.steps) == 3
