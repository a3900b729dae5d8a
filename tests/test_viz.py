"""draw_graph, backward_steps and explore: the graph's structure, real rendering, the missing-dot error,
the frames and their captions, the player's page, and the explorer driven from Python."""

import json
import random
import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import graphviz
import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretorch_scalar import Tensor, demo, nn, ops
from puretorch_scalar.checks import ArgumentTypeError
from puretorch_scalar.engine import ParameterValue, Value, topological_order
from puretorch_scalar.viz import (
    BackwardSteps,
    Frame,
    Graph,
    GraphvizNotFoundError,
    backward_steps,
    draw_graph,
    explore,
)
from puretorch_scalar.viz.explore import STATIC_NOTE, default_slider_range
from puretorch_scalar.viz.graph import HIGHLIGHT_FILL, HIGHLIGHT_LINE, KIND_COLOURS, UPDATED_FILL

ROOT = Path(__file__).resolve().parent.parent

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


def parse(graph):
    """The Digraph's nodes {name: attributes} and edges [(tail, head, attributes)], from its DOT source."""
    nodes, edges = {}, []
    for line in graph.body:
        if m := re.match(r"\t(\S+) -> (\S+)(?: \[(.*)\])?$", line):
            edges.append((m[1], m[2], m[3] or ""))
        elif m := re.match(r"\t(\S+) \[(.*)\]$", line):
            nodes[m[1]] = m[2]
    return nodes, edges


def value_nodes(graph):
    return {name: attrs for name, attrs in parse(graph)[0].items() if re.fullmatch(r"v\d+", name)}


def op_nodes(graph):
    return {name: attrs for name, attrs in parse(graph)[0].items() if name.endswith("_op")}


def node_of(graph, text):
    """The one Value node whose label contains `text`."""
    [attrs] = [a for a in value_nodes(graph).values() if text in a]
    return attrs


def cut_labels(graph):
    """How often each "… N more inputs" box appears."""
    return Counter(
        re.search(r'label="([^"]*)"', a)[1] for n, a in parse(graph)[0].items() if n.endswith("_cut")
    )


def op_label(attrs):
    return re.search(r'label="?([^" ]+)"?', attrs)[1]


def neuron():
    """micrograd's neuron, o = tanh(x1·w1 + x2·w2 + b) (the demo's), backpropagated."""
    o = demo.neuron()
    o.backward()
    return o


class FakeTensor:
    """Stands in for a Tensor: anything with `.values()` returning Values can be drawn."""

    def __init__(self, values):
        self._values = values

    def values(self):
        return list(self._values)


# -- structure --------------------------------------------------------------------------------


def test_neuron_has_one_record_per_value_and_one_op_node_per_operation():
    g = draw_graph(neuron())
    assert isinstance(g, Graph)
    assert len(value_nodes(g)) == 10  # 5 leaves, x1w1, x2w2, their sum, n, o
    assert sorted(op_label(a) for a in op_nodes(g).values()) == ["+", "+", "tanh", "×", "×"]
    assert len(parse(g)[1]) == 4 * 3 + 2  # binary ops: 2 inputs + 1 output edge; tanh: 1 + 1


def test_records_show_label_data_and_grad_with_4_significant_digits():
    g = draw_graph(neuron())
    b = node_of(g, "<b>b</b>")
    assert "data 6.881<" in b and "grad 0.5<" in b
    assert "data 0.7071<" in node_of(g, "<b>o</b>")
    assert "grad -1.5<" in node_of(g, "<b>x1</b>")
    assert "data -6<" in g.source  # an unlabelled intermediate (x1·w1): data and grad cells only


def test_colours_tell_inputs_parameters_constants_intermediates_and_output_apart():
    x, w = Value(1.5, label="x"), ParameterValue(0.5, label="w")
    d = Value(4.0, label="d", requires_grad=False)
    y = (x * w * 2 + d).relu()
    y.label = "y"
    g = draw_graph(y)
    assert KIND_COLOURS["input"] in node_of(g, "<b>x</b>")
    assert KIND_COLOURS["parameter"] in node_of(g, "<b>w</b>")
    assert KIND_COLOURS["output"] in node_of(g, "<b>y</b>")
    constant = node_of(g, ">2<")
    assert KIND_COLOURS["constant"] in constant and "grad" not in constant  # drawn small, without grad
    assert KIND_COLOURS["intermediate"] in node_of(g, "data 0.75<")
    data = node_of(g, "<b>d</b>")
    assert KIND_COLOURS["data"] in data and "grad" not in data  # requires_grad=False: no grad cell
    assert len(set(KIND_COLOURS.values())) == 6


def test_legend_lists_the_kinds_present_and_can_be_turned_off():
    x = Value(1.0, label="x")
    g = draw_graph(x * 3)
    legend = re.search(r"^\tlabel=(<<table.*>>)", g.source, re.M)[1]
    assert [k for k in KIND_COLOURS if f">{k}<" in legend] == ["input", "constant", "output"]
    assert "\tlabel=" not in draw_graph(x * 3, legend=False).source


def test_nary_ops_are_single_nodes_labelled_sigma_and_dot():
    xs = [Value(float(i), label=f"x{i}") for i in range(4)]
    s = Value.sum(xs) + Value.dot(xs[:2], [Value(1.0), 3.0])
    g = draw_graph(s)
    assert sorted(op_label(a) for a in op_nodes(g).values()) == ["+", "dot", "Σ"]
    sigma = next(name for name, a in op_nodes(g).items() if op_label(a) == "Σ")
    assert sum(head == sigma for _, head, _ in parse(g)[1]) == 4  # one edge per term


def test_a_shared_subgraph_is_drawn_once():
    x, y = Value(2.0, label="x"), Value(3.0, label="y")
    a = x * y
    a.label = "a"
    z = (a + a) * a
    g = draw_graph(z)
    assert len(value_nodes(g)) == 5  # x, y, a, a + a, z
    a_id = next(name for name, attrs in value_nodes(g).items() if "<b>a</b>" in attrs)
    assert sum(tail == a_id for tail, _, _ in parse(g)[1]) == 3  # into "+" twice and "×" once


def test_rankdir_and_options_are_checked():
    o = neuron()
    assert "rankdir=TB" in draw_graph(o, rankdir="TB").source
    assert "rankdir=LR" in draw_graph(o).source
    assert "grad" not in draw_graph(o, show_grad=False).source
    with pytest.raises(ValueError, match="rankdir .* not 'XY'"):
        draw_graph(o, rankdir="XY")
    for bad in (0, -1, 2.5, "10"):
        with pytest.raises(ValueError, match="max_nodes must be a positive int"):
            draw_graph(o, max_nodes=bad)


def test_roots_can_be_a_list_or_anything_with_values():
    x = Value(1.0, label="x")
    y, z = x.exp(), x.sin()
    for root in ([y, z], FakeTensor([y, z]), [FakeTensor([y]), z, y]):
        g = draw_graph(root)
        assert len(value_nodes(g)) == 3
        assert sum(KIND_COLOURS["output"] in a for a in value_nodes(g).values()) == 2


def test_real_tensor_roots():
    tensor = pytest.importorskip("puretorch_scalar.tensor")
    t = tensor.Tensor([[1.0, 2.0], [3.0, 4.0]])
    for root in (t, (t * 2).sum()):
        g = draw_graph(root)
        assert sum(KIND_COLOURS["input"] in a for a in value_nodes(g).values()) == 4 - 4 * (root is t)
    assert sum(KIND_COLOURS["output"] in a for a in value_nodes(draw_graph(t)).values()) == 4


def test_bad_roots_raise_clear_errors():
    with pytest.raises(TypeError, match="expected a Value, a Tensor or a list of them, not str"):
        draw_graph("x")
    with pytest.raises(TypeError, match="not FakeTensor"):
        draw_graph(FakeTensor([1.0]))
    with pytest.raises(ValueError, match="nothing to draw"):
        draw_graph([])


def test_highlight_marks_the_node_its_op_and_its_input_edges_in_red():
    o = neuron()
    n = o.children[0]
    g = draw_graph(o, highlight={n})
    marked = [name for name, attrs in value_nodes(g).items() if "class=highlight" in attrs]
    assert len(marked) == 1 and "<b>n</b>" in value_nodes(g)[marked[0]]
    assert HIGHLIGHT_FILL in value_nodes(g)[marked[0]]
    red_edges = [(t, h) for t, h, attrs in parse(g)[1] if "#e03131" in attrs]
    assert len(red_edges) == 3 and all(marked[0] in edge[0] + edge[1] for edge in red_edges)
    assert draw_graph(o, highlight=n).source == g.source  # a single Value works too
    with pytest.raises(ValueError, match="not a Value of the graph"):
        draw_graph(o, highlight=[Value(1.0)])


def test_grads_mapping_replaces_dot_grad_and_leaves_the_rest_blank():
    o = neuron()
    n = o.children[0]
    g = draw_graph(o, grads={o: 42.0, n: -0.125})
    assert "grad 42<" in node_of(g, "<b>o</b>") and "grad -0.125<" in node_of(g, "<b>n</b>")
    assert "grad <" in node_of(g, "<b>x1</b>")
    with pytest.raises(TypeError, match="grads must be a mapping"):
        draw_graph(o, grads=[1.0])


def test_labels_are_escaped():
    v = Value(1.0, label='<a & "b">')
    assert "&lt;a &amp; &quot;b&quot;&gt;" in draw_graph(v).source


# -- big graphs -------------------------------------------------------------------------------


def wide_graph(n=1500):
    """Σ of n products: 3n + 1 Values."""
    return Value.sum(Value(float(i), label=f"a{i}") * Value(1.0, label=f"b{i}") for i in range(n))


def test_max_nodes_collapses_a_wide_fan_in_and_says_what_was_left_out():
    g = draw_graph(wide_graph(), max_nodes=40)
    assert len(value_nodes(g)) == 40
    assert "showing 40 of 4,501 values (max_nodes=40)" in g.source
    leaves = sum("<b>" in attrs for attrs in value_nodes(g).values())  # a_i and b_i are labelled
    products = 40 - 1 - leaves
    cuts = cut_labels(g)
    # 6 terms with their inputs; room left, so 12 terms: 6 more with theirs; then 3 more terms alone
    assert (products, leaves) == (15, 24)
    assert cuts == {f"… {1500 - products} more inputs": 1, "… 2 more inputs": products - leaves // 2}


def test_max_nodes_keeps_pairs_of_a_dot_together():
    ws = [Value(0.5, label=f"w{i}") for i in range(64)]
    xs = [Value(1.0, label=f"x{i}") for i in range(64)]
    g = draw_graph(Value.dot(ws, xs), max_nodes=20)
    drawn = {m for a in value_nodes(g).values() for m in re.findall(r"<b>(\w+)</b>", a)}
    assert drawn == {f"w{i}" for i in range(10)} | {f"x{i}" for i in range(9)}
    assert "… 109 more inputs" in g.source


def test_max_nodes_keeps_the_nodes_nearest_the_output_of_a_deep_chain():
    x = Value(1.0, label="x")
    y = x
    for _ in range(3000):  # 6001 Values; the walk is iterative
        y = y * 0.999
    y.label = "y"
    g = draw_graph(y, max_nodes=30)
    assert len(value_nodes(g)) == 30 and "<b>y</b>" in g.source and "<b>x</b>" not in g.source
    cuts = cut_labels(g)
    assert cuts == {"… 2 more inputs": 1, "… 1 more input": 1}  # 30 = y + 14 (product, constant) + 1
    assert len(value_nodes(draw_graph(y, max_nodes=None))) == 6001


@needs_dot
def test_a_summary_of_thousands_of_nodes_renders():
    svg = draw_graph(wide_graph(), max_nodes=60).pipe(format="svg", encoding="utf-8")
    assert re.search(r"… 14\d\d more inputs", svg) and "showing 60 of 4,501 values" in svg


# -- rendering --------------------------------------------------------------------------------


@needs_dot
def test_renders_valid_svg_and_png_files(tmp_path):
    g = draw_graph(neuron())
    svg_path = g.render(outfile=tmp_path / "neuron.svg")
    png_path = g.render(outfile=tmp_path / "neuron.png")
    texts = [t.text for t in ET.parse(svg_path).iter("{http://www.w3.org/2000/svg}text")]
    for expected in ("x1", "data 2", "grad -1.5", "tanh", "o", "data 0.7071", "grad 1"):
        assert expected in texts
    with open(png_path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


@needs_dot
def test_jupyter_display_is_inline_svg():
    bundle = draw_graph(neuron())._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml"] and "<svg" in bundle["image/svg+xml"]


def test_without_dot_building_works_and_rendering_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no `dot` anywhere
    o = neuron()
    g = draw_graph(o)
    assert "tanh" in g.source
    steps = backward_steps(o)
    for render in (
        lambda: g.pipe(format="svg"),
        lambda: g.render(outfile=tmp_path / "g.png"),
        g._repr_mimebundle_,
        steps._repr_html_,
        lambda: steps.save(tmp_path / "steps.html"),
    ):
        with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz") as error:
            render()
        assert isinstance(error.value, RuntimeError)
        assert not isinstance(error.value, graphviz.ExecutableNotFound)
        assert error.value.__suppress_context__  # one message, not graphviz's error and then ours
    assert not (tmp_path / "steps.html").exists()


# -- backward_steps ---------------------------------------------------------------------------


def highlighted(frame):
    return [name for name, attrs in value_nodes(frame.graph).items() if "class=highlight" in attrs]


def test_one_frame_per_non_leaf_node_plus_the_start_in_backward_order():
    o = neuron()
    steps = backward_steps(o)
    non_leaves = [v for v in reversed(topological_order(o)) if v.children]
    assert isinstance(steps, BackwardSteps) and len(steps) == 1 + len(non_leaves) == 6
    assert all(isinstance(f, Frame) for f in steps)
    assert [f.node for f in steps] == [None, *non_leaves]
    assert [f.step for f in steps] == [0, 1, 2, 3, 4, 5]
    assert highlighted(steps[0]) == []
    for frame in steps[1:]:
        [name] = highlighted(frame)
        assert f"data {frame.node.data:.4g}<" in value_nodes(frame.graph)[name]
        assert frame.updated == frame.node.children
    assert steps[-1] is steps.frames[-1] and steps[1:3] == steps.frames[1:3]


def test_gradients_are_revealed_step_by_step_and_end_as_backward_does():
    o = neuron()
    for v in topological_order(o):
        v.grad = 123.0  # whatever was there: the replay neither reads nor changes it
    steps = backward_steps(o)
    assert all(v.grad == 123.0 for v in topological_order(o))
    assert steps[0].grads == {o: 1.0}
    known = [set(f.grads) for f in steps]
    assert all(a < b for a, b in zip(known, known[1:]))  # every step reveals something new
    assert "grad <" in node_of(steps[0].graph, "<b>x1</b>")  # not reached yet: blank
    assert UPDATED_FILL in node_of(steps[0].graph, "<b>o</b>")
    o.zero_grad()
    o.backward()
    assert steps[-1].grads == pytest.approx({v: v.grad for v in topological_order(o)}, rel=1e-12)


def test_every_value_has_a_unique_name_written_on_its_box():
    o = neuron()
    steps = backward_steps(o)
    n = o.children[0]
    x1w1_plus_x2w2, b = n.children
    x1w1, x2w2 = x1w1_plus_x2w2.children
    # unlabelled Values are t1, t2, … in the order Python made them
    assert [steps.names[v] for v in (x1w1, x2w2, x1w1_plus_x2w2, b, n)] == ["t1", "t2", "t3", "b", "n"]
    assert len(set(steps.names.values())) == len(steps.names) == 10
    frame = steps[4]
    assert "data -6<" in node_of(frame.graph, "<i>t1</i>")  # automatic names in italics
    assert "<b>x1</b>" in node_of(frame.graph, "data 2<")
    assert "<i>" not in draw_graph(o).source  # draw_graph itself shows labels only


def test_automatic_names_avoid_labels_and_repeated_labels_are_numbered():
    a, b, c = Value(1.0, label="a"), Value(2.0, label="a"), Value(3.0, label="t1")
    y = (a * b) + c
    names = backward_steps(y).names
    assert [names[v] for v in (a, b, c, y.children[0], y)] == ["a", "a#2", "t1", "t2", "t3"]


def test_captions_bind_the_rule_to_names_and_numbers():
    steps = backward_steps(neuron())
    assert steps[0].caption == "Start: seed the output's gradient, o.grad = 1."
    assert steps[1].caption.splitlines() == [
        "Step 1 of 5: back through the tanh that made o = tanh(n), with o.grad = 1",
        "  rule: ∂tanh x/∂x = 1 − tanh²x",
        "  ∂o/∂n = 1 − (o × o) = 0.5;  n.grad = 0 + (0.5)(1) = 0.5",
    ]
    assert steps[4].caption.splitlines() == [
        "Step 4 of 5: back through the × that made t1 = x1 × w1, with t1.grad = 0.5",
        "  rule: ∂(a·b)/∂a = b, ∂(a·b)/∂b = a",
        "  ∂t1/∂x1 = w1 = −3;  x1.grad = 0 + (−3)(0.5) = −1.5",
        "  ∂t1/∂w1 = x1 = 2;  w1.grad = 0 + (2)(0.5) = 1",
    ]


def test_accumulation_shows_the_gradient_that_was_there_before():
    a = Value(3.0, label="a")
    assert backward_steps(a * a)[1].caption.splitlines()[2:] == [
        "  ∂t1/∂a = a = 3;  a.grad = 0 + (3)(1) = 3",
        "  ∂t1/∂a = a = 3;  a.grad = 3 + (3)(1) = 6",
    ]
    diamond = backward_steps(a + a)
    assert diamond[1].caption.splitlines()[2:] == [
        "  ∂t1/∂a = 1;  a.grad = 0 + (1)(1) = 1",
        "  ∂t1/∂a = 1;  a.grad = 1 + (1)(1) = 2",
    ]
    # notebook 2's L = (x·y + x)²: x gets −6 through r first, then adds y·∂L/∂q from q
    x, y = Value(3.0, label="x"), Value(-2.0, label="y")
    L = (x * y + x) ** 2
    assert "x.grad = −6 + (−2)(−6) = 6" in backward_steps(L)[3].caption


def test_derivatives_are_written_with_the_values_they_are_made_of():
    x = Value(0.5, label="x")
    y = x.exp()
    y.label = "y"
    z = (y / x).sigmoid()
    z.label = "z"
    captions = "\n".join(f.caption for f in backward_steps(z))
    assert "∂z/∂t1 = z × (1 − z) = " in captions  # σ' = σ(1 − σ), with σ the node z itself
    assert "∂t1/∂y = 1 ÷ x = 2;" in captions
    assert "∂t1/∂x = (−t1) ÷ x = " in captions  # −(y/x)/x: the rule reuses the node's own value
    assert "∂y/∂x = y = 1.649;" in captions


def test_captions_state_each_ops_symbol_and_rule_from_the_registry():
    x, w = Value(0.3, label="x"), Value(-1.2, label="w")
    y = Value.sum([(x * w).relu(), (x - w) ** 2, -x.sin(), Value.dot([x, w], [w, 2.0]), 5.0]).sqrt()
    for frame in backward_steps(y, max_nodes=None)[1:]:
        record = ops.get(frame.node.op)
        header, rule = frame.caption.splitlines()[:2]
        assert f"back through the {record.symbol} that made " in header
        assert rule == f"  rule: {record.caption}"


def test_a_rule_that_works_on_floats_only_is_stated_with_its_numbers():
    ops.define_op("twice", forward=lambda x: 2 * x, derivative=lambda x, out: 2.0 * x.real / x)
    try:
        x = Value(1.5, label="x")
        y = x.twice()
        y.label = "y"
        assert backward_steps(y)[1].caption.splitlines()[2] == "  ∂y/∂x = 2;  x.grad = 0 + (2)(1) = 2"
    finally:
        ops.undefine_op("twice")


def test_a_wide_node_is_written_short():
    xs = [Value(float(i), label=f"a{i}") for i in range(64)]
    caption = backward_steps(Value.sum(xs))[1].caption
    assert "that made t1 = Σ(a0, a1, a2, … 64 in all)" in caption
    assert caption.splitlines()[-1] == "  … and 58 more"


def test_the_steps_red_edges_point_backward():
    steps = backward_steps(neuron())
    assert all("dir=back" not in attrs for _, _, attrs in parse(steps[0].graph)[1])
    edges = parse(steps[4].graph)[1]  # t1 = x1 × w1: its op's three edges
    red = [attrs for _, _, attrs in edges if HIGHLIGHT_LINE in attrs]
    assert len(red) == 3 and all("dir=back" in attrs for attrs in red)
    o = neuron()
    assert "dir=back" not in draw_graph(o, highlight=o.children[0]).source  # draw_graph: forward


def test_gradient_seed_and_output_checks():
    x = Value(2.0, label="x")
    y = x * x
    assert backward_steps(y, gradient=3.0)[-1].grads[x] == 12.0
    assert len(backward_steps(FakeTensor([y]))) == 2
    with pytest.raises(ValueError, match="needs one output Value .* got 2"):
        backward_steps([y, x])
    with pytest.raises(TypeError, match="gradient must be a number, not str"):
        backward_steps(y, gradient="1")


def test_every_op_has_a_caption():
    assert all(record.caption for record in ops.records())


def test_steps_through_nodes_a_summary_cut_are_folded_into_the_frames():
    x = Value(0.5, label="x")
    y = x
    for _ in range(200):
        y = (y * 1.001).tanh()
    steps = backward_steps(y, max_nodes=20)
    # drawn: the 20 Values nearest y, 14 of them non-leaves (y, 7 products, 6 tanh)
    assert [f.node is None for f in steps] == [True] + [False] * 14 + [True]
    assert steps[-1].caption.startswith("… then 386 steps through nodes not drawn")
    assert steps[-1].step == 400  # the counter ends where backward does
    y.backward()
    assert steps[-1].grads[x] == pytest.approx(x.grad)


def test_cut_steps_between_drawn_ones_are_counted_in_the_captions():
    steps = backward_steps(wide_graph(), max_nodes=20)
    assert sum(f.node is not None for f in steps) == 8  # Σ and its first 7 products
    skipped = [int(n) for f in steps for n in re.findall(r"(?:after|then) (\d+) steps through", f.caption)]
    assert 8 + sum(skipped) == 1 + 1500


# Random expressions: the replay ends with exactly the gradients backward computes.
OPS = ["+", "-", "*", "tanh", "sigmoid", "sin", "sum", "dot"]


@given(
    st.lists(st.floats(-2, 2), min_size=2, max_size=4),
    st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 99), st.integers(0, 99)), min_size=1, max_size=8),
)
def test_replay_matches_backward_on_random_graphs(inputs, program):
    pool = [Value(x) for x in inputs]
    for op, i, j in program:
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        if op in ("tanh", "sigmoid", "sin"):
            pool.append(getattr(a, op)())
        elif op == "sum":
            pool.append(Value.sum([a, b, a]))
        elif op == "dot":
            pool.append(Value.dot([a, b], [b, 2.0]))
        else:
            pool.append({"+": a + b, "-": a - b, "*": a * b}[op])
    out = pool[-1]
    steps = backward_steps(out, max_nodes=None)
    assert len(steps) == 1 + sum(1 for v in topological_order(out) if v.children)
    assert len(set(steps.names.values())) == len(steps.names)
    out.backward()
    assert steps[-1].grads == pytest.approx({v: v.grad for v in topological_order(out)}, rel=1e-12)


# -- the player -------------------------------------------------------------------------------


SVG_NS = "{http://www.w3.org/2000/svg}"


def micrograd_readme_steps():
    """micrograd's README example, MLP(3, [4, 4, 1]) on its 4 samples with a squared error,
    replayed over its 70 Values nearest the loss: 55 frames."""
    random.seed(0)
    model = nn.MLP(3, [4, 4, 1])
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    loss = ((model(Tensor(xs)).reshape(4) - Tensor([1.0, -1.0, -1.0, 1.0])) ** 2).sum()
    return backward_steps(loss, max_nodes=70)


def script_data(html):
    return json.loads(
        re.search(r'<script type="application/json" class="pts-data">(.*?)</script>', html, re.S)[1]
    )


@needs_dot
def test_player_is_one_svg_rendered_once(monkeypatch, tmp_path):
    calls = []
    pipe = Graph.pipe
    monkeypatch.setattr(Graph, "pipe", lambda self, *a, **k: calls.append(1) or pipe(self, *a, **k))
    steps = backward_steps(neuron())
    first, second = steps._repr_html_(), steps._repr_html_()
    path = steps.save(tmp_path / "steps.html")
    assert len(calls) == 1  # one picture, drawn once, restyled by the script for every frame
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<title>backward pass from o</title>" in page
    assert first.count("<svg") == 1 and len(script_data(first)["frames"]) == len(steps)
    for control in ("pts-prev", "pts-play", "pts-next", 'type="range"', "pts-speed", "pts-order"):
        assert control in first
    ids = [re.search(r'id="(pts-steps-\w+)"', html)[1] for html in (first, second)]
    assert ids[0] != ids[1]  # two displays, two independent players
    assert not re.search(r"<script[^>]+src|<link|@import|widget", page)
    assert "Step 1 of 5: back through the tanh that made o" in page
    assert "Start: seed the output" in first.split("<script")[0]  # without scripts: the first frame


@needs_dot
def test_labels_cannot_break_out_of_the_players_script():
    x = Value(1.0, label="</script><b>x")
    html = backward_steps(x * 2)._repr_html_()
    assert html.count("</script>") == 2  # the data's and the code's: the label is escaped in both
    assert script_data(html)["frames"][1]["caption"].endswith("x.grad = 0 + (2)(1) = 2")


@needs_dot
def test_the_picture_has_a_hook_on_every_value_op_and_edge():
    steps = backward_steps((Value(2.0, label="x") * 3).tanh())
    svg = ET.fromstring(steps.svg)
    groups = list(svg.iter(f"{SVG_NS}g"))
    values = [g for g in groups if g.get("data-node")]
    assert sorted(g.get("data-node") for g in values) == ["v0", "v1", "v2", "v3"]  # x, 3, x·3, tanh
    grads = [t for t in svg.iter(f"{SVG_NS}text") if t.get("class") == "pts-grad"]
    assert len(grads) == 3 and all(t.get("text-anchor") == "middle" for t in grads)  # not the constant
    assert sorted(t.text.strip() for t in grads) == ["grad", "grad", "grad 1"]  # the first frame
    parts = Counter(g.get("data-step-of") for g in groups if g.get("data-step-of"))
    assert parts == {"v2": 4, "v3": 3}  # × : its oval, 2 edges in and 1 out; tanh: oval, 1 in, 1 out
    [marker] = svg.iter(f"{SVG_NS}marker")
    assert marker.get("orient") == "auto-start-reverse" and f"url(#{marker.get('id')})" in steps._repr_html_()


def test_each_frame_stores_only_the_grad_texts_it_changes():
    o = neuron()
    steps = backward_steps(o)
    ids = steps.scene.ids()
    data = steps.script_data()
    assert data["steps"] == 5 and [f["step"] for f in data["frames"]] == [0, 1, 2, 3, 4, 5]
    assert data["frames"][0]["grads"] == {ids[o]: "1"} and data["frames"][0]["node"] is None
    texts = {}
    for frame, stored in zip(steps, data["frames"]):
        texts |= stored["grads"]
        assert texts == {ids[v]: f"{g:.4g}" for v, g in frame.grads.items()}
        assert stored["updated"] == [ids[v] for v in frame.updated]
        assert stored["caption"] == frame.caption
        assert stored["node"] == (ids[frame.node] if frame.node is not None else None)
    assert sum(len(f["grads"]) for f in data["frames"]) == 10  # each gradient written once here


def test_the_counter_and_the_caption_count_the_same_steps():
    x = Value(0.5, label="x")
    y = x
    for _ in range(30):
        y = (y * 1.001).tanh()
    steps = backward_steps(y, max_nodes=20)
    for frame in steps:
        said = re.search(r"Step (\d+) of (\d+)", frame.caption)
        if said:
            assert (int(said[1]), int(said[2])) == (frame.step, steps.script_data()["steps"])
    assert [f.step for f in steps] == sorted(f.step for f in steps)


@needs_dot
def test_a_55_frame_mlp_replay_is_a_small_file(tmp_path):
    steps = micrograd_readme_steps()
    assert len(steps) == 55
    size = steps.save(tmp_path / "mlp.html").stat().st_size
    print(f"55-frame MLP replay: {size:,} bytes")
    assert size <= 1_000_000  # one SVG for all frames (one SVG per frame made this 8.4 MB)


@needs_dot
def test_a_frame_displays_its_picture_and_caption():
    html = backward_steps(neuron())[1]._repr_html_()
    assert "<svg" in html and "n.grad = 0 + (0.5)(1) = 0.5" in html


@needs_dot
def test_frames_share_one_layout():
    """Only colours, arrowheads and grad texts change between frames: the picture does not jump."""
    svgs = [frame.graph.pipe(format="svg", encoding="utf-8") for frame in backward_steps(neuron())]
    # the coordinates of boxes and ovals (a shaded cell adds a fill with its border's points)
    shapes = {
        frozenset(re.findall(r"<(?:polygon|ellipse) [^>]*(?:points|cx)=\"([^\"]*)\"", svg)) for svg in svgs
    }
    boxes = {frozenset(p for p in s if p.count(",") == 5) for s in shapes}  # rectangles, not arrowheads
    assert len(boxes) == 1 and len(next(iter(boxes))) > 20


# -- explore ----------------------------------------------------------------------------------


def neuron_of(x1, x2, w1, w2, b):
    """micrograd's neuron as a function of its leaves, for explore."""
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


NEURON = {"x1": 2.0, "x2": 0.0, "w1": -3.0, "w2": 1.0, "b": 6.8813735870195432}


def drawn_grads(explorer):
    """The grad text of each labelled box of the picture."""
    svg = ET.fromstring(explorer.picture.value)
    texts = {}
    for group in svg.iter(f"{SVG_NS}g"):
        words = [t.text for t in group.iter(f"{SVG_NS}text")]
        if len(words) == 3 and words[2].startswith("grad"):
            texts[words[0]] = words[2]
    return texts


@needs_dot
def test_explore_makes_one_slider_per_leaf_starting_at_its_value():
    pytest.importorskip("ipywidgets")
    explorer = explore(neuron_of, **NEURON)
    assert list(explorer.sliders) == list(NEURON)
    assert [s.value for s in explorer.sliders.values()] == list(NEURON.values())
    assert [s.description for s in explorer.sliders.values()] == list(NEURON)
    w1 = explorer.sliders["w1"]
    assert (w1.min, w1.max, w1.step) == (-9, 3, 0.1)
    assert drawn_grads(explorer) == {
        "x1": "grad -1.5", "x2": "grad 0.5", "w1": "grad 1", "w2": "grad 0", "b": "grad 0.5",
        "n": "grad 0.5", "o": "grad 1",
    }  # fmt: skip
    assert explorer.output.label == "o" and explorer.leaves["x1"].grad == pytest.approx(-1.5)
    assert "∂o/∂w2 = 0," in explorer.summary.value


@pytest.mark.parametrize(
    "value, expected",
    [(0.0, (-1, 1, 0.01)), (2.0, (-2, 6, 0.05)), (-3.0, (-9, 3, 0.1)), (0.3, (-0.7, 1.3, 0.01))],
)
def test_default_sliders_reach_past_zero_in_round_steps(value, expected):
    assert default_slider_range(value) == pytest.approx(expected)


def test_a_default_slider_has_the_value_itself_as_a_position():
    b = 6.8813735870195432  # micrograd's: tanh(b − 6) = 1/√2
    low, high, step = default_slider_range(b)
    assert step == 0.2 and (high - low) / step == pytest.approx(2 * 69)
    assert low + 69 * step == pytest.approx(b, abs=1e-12) and low < -b and high > 3 * b


@needs_dot
def test_moving_a_slider_reruns_forward_and_backward_and_redraws():
    pytest.importorskip("ipywidgets")
    explorer = explore(neuron_of, **NEURON)
    before = explorer.picture.value
    explorer.sliders["x2"].value = 0.5  # as the frontend does when the slider moves
    leaves = {name: Value(value, label=name) for name, value in (NEURON | {"x2": 0.5}).items()}
    neuron_of(**leaves).backward()
    assert {n: v.grad for n, v in explorer.leaves.items()} == {n: v.grad for n, v in leaves.items()}
    assert explorer.picture.value != before
    assert drawn_grads(explorer)["w2"] == f"grad {leaves['w2'].grad:.4g}" != "grad 0"
    assert explorer.error == ""


@needs_dot
def test_a_move_where_f_fails_keeps_the_last_picture_and_says_why():
    pytest.importorskip("ipywidgets")
    explorer = explore(lambda x: x.log(), x=2.0)
    picture, output = explorer.picture.value, explorer.output
    explorer.sliders["x"].value = -1.0
    assert explorer.error == "ValueError: log: input -1.0 is not positive; log is defined only for x > 0"
    assert "f failed here" in explorer.summary.value and "-1.0 is not positive" in explorer.summary.value
    assert explorer.picture.value == picture and explorer.output is output
    explorer.sliders["x"].value = 1.0
    assert explorer.error == "" and explorer.leaves["x"].grad == 1.0


@needs_dot
def test_explore_takes_sliders_of_your_own():
    widgets = pytest.importorskip("ipywidgets")
    mine = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.25)
    explorer = explore(lambda x, y: x * y, x=mine, y=3.0)
    assert explorer.sliders["x"] is mine and mine.description == "x" and mine.step == 0.25
    mine.value = 1.0
    assert explorer.leaves["y"].grad == 1.0
    one = explore(lambda x: (Tensor([x, x]) * 2).sum(), x=1.0)  # a one-element Tensor will do too
    assert one.leaves["x"].grad == 4.0


@needs_dot
def test_explore_checks_its_arguments():
    pytest.importorskip("ipywidgets")
    with pytest.raises(
        ArgumentTypeError, match=r"explore: f must be a function of the leaves, got 2.0 \(float\)"
    ):
        explore(2.0, x=1.0)
    with pytest.raises(ValueError, match="give at least one leaf"):
        explore(lambda x: x)
    with pytest.raises(TypeError, match="explore: f cannot take the leaves x, z: .*'z'"):
        explore(lambda x: x, x=1.0, z=2.0)
    for bad in ("1", True, [1.0]):
        with pytest.raises(
            ArgumentTypeError, match=f"explore: x must be a real number, got .* [(]{type(bad).__name__}[)]"
        ):
            explore(lambda x: x, x=bad)
    with pytest.raises(ValueError, match="explore: x must be a real number, got nan"):
        explore(lambda x: x, x=float("nan"))
    with pytest.raises(TypeError, match="explore: expected a Value, a Tensor or a list of them, not float"):
        explore(lambda x: 2.0, x=1.0)
    with pytest.raises(ValueError, match="explore: f must return one Value .* got 2"):
        explore(lambda x: [x, x * 2], x=1.0)


@needs_dot
def test_a_static_copy_shows_the_picture_with_a_note():
    pytest.importorskip("ipywidgets")
    bundle = explore(neuron_of, **NEURON)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # live: the widget
    html = bundle["text/html"]  # static viewers fall back to this
    assert "<svg" in html and "grad &#45;1.5" in html and STATIC_NOTE in html  # dot writes - as &#45;


def test_notebook_2_stores_no_widget_state():
    """Stored widget state would make static exports load the widget library from a CDN; without
    it they show each explorer's still picture (run notebooks with store_widget_state=False)."""
    notebook = json.loads((ROOT / "notebooks" / "02_drawing_graphs.ipynb").read_text(encoding="utf-8"))
    assert "widgets" not in notebook["metadata"]
    outputs = [o for c in notebook["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    stills = [
        o["data"]["text/html"]
        for o in outputs
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert stills and all(STATIC_NOTE in "".join(html) for html in stills)
