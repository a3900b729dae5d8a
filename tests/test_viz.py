"""draw_graph and backward_steps: the graph's structure, real rendering, the missing-dot error, the frames."""

import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter

import graphviz
import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretorch_scalar import demo, ops
from puretorch_scalar.engine import ParameterValue, Value, topological_order
from puretorch_scalar.viz import (
    BackwardSteps,
    Frame,
    Graph,
    GraphvizNotFoundError,
    backward_steps,
    draw_graph,
)
from puretorch_scalar.viz.graph import HIGHLIGHT_FILL, KIND_COLOURS, UPDATED_FILL

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
    y = (x * w * 2).relu()
    y.label = "y"
    g = draw_graph(y)
    assert KIND_COLOURS["input"] in node_of(g, "<b>x</b>")
    assert KIND_COLOURS["parameter"] in node_of(g, "<b>w</b>")
    assert KIND_COLOURS["output"] in node_of(g, "<b>y</b>")
    constant = node_of(g, ">2<")
    assert KIND_COLOURS["constant"] in constant and "grad" not in constant  # drawn small, without grad
    assert KIND_COLOURS["intermediate"] in node_of(g, "data 0.75<")
    assert len(set(KIND_COLOURS.values())) == 5


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
    assert highlighted(steps[0]) == []
    for frame in steps[1:]:
        [name] = highlighted(frame)
        assert f"data {frame.node.data:.4g}<" in value_nodes(frame.graph)[name]
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


def test_captions_state_the_chain_rule():
    steps = backward_steps(neuron())
    assert steps[0].caption == "Start: seed the output's gradient, o.grad = 1."
    assert steps[1].caption.splitlines() == [
        "Step 1 of 5: back through the tanh that made o   (∂tanh x/∂x = 1 − tanh²x)",
        "  n.grad += 0.5 × 1 → 0.5",
    ]
    assert sum("  x1.grad += -3 × 0.5 → -1.5" in f.caption.splitlines() for f in steps) == 1


def test_a_reused_node_accumulates_over_two_lines():
    a = Value(3.0, label="a")
    steps = backward_steps(a * a)
    assert steps[1].caption.splitlines()[1:] == ["  a.grad += 3 × 1 → 3", "  a.grad += 3 × 1 → 6"]


def test_every_op_has_a_caption():
    assert all(record.caption for record in ops.records())


def test_gradient_seed_and_output_checks():
    x = Value(2.0, label="x")
    y = x * x
    assert backward_steps(y, gradient=3.0)[-1].grads[x] == 12.0
    assert len(backward_steps(FakeTensor([y]))) == 2
    with pytest.raises(ValueError, match="needs one output Value .* got 2"):
        backward_steps([y, x])
    with pytest.raises(TypeError, match="gradient must be a number, not str"):
        backward_steps(y, gradient="1")


def test_steps_through_nodes_a_summary_cut_are_folded_into_the_frames():
    x = Value(0.5, label="x")
    y = x
    for _ in range(200):
        y = (y * 1.001).tanh()
    steps = backward_steps(y, max_nodes=20)
    # drawn: the 20 Values nearest y, 14 of them non-leaves (y, 7 products, 6 tanh)
    assert [f.node is None for f in steps] == [True] + [False] * 14 + [True]
    assert steps[-1].caption.startswith("… then 386 steps through nodes not drawn")
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
    out.backward()
    assert steps[-1].grads == pytest.approx({v: v.grad for v in topological_order(out)}, rel=1e-12)


# -- the player -------------------------------------------------------------------------------


@needs_dot
def test_player_is_self_contained_html_with_every_frame_rendered_once(monkeypatch, tmp_path):
    calls = []
    pipe = Graph.pipe
    monkeypatch.setattr(Graph, "pipe", lambda self, *a, **k: calls.append(1) or pipe(self, *a, **k))
    steps = backward_steps(neuron())
    first, second = steps._repr_html_(), steps._repr_html_()
    path = steps.save(tmp_path / "steps.html")
    assert len(calls) == len(steps)  # frames rendered once, then reused
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<title>backward pass from o</title>" in page
    assert first.count('class="pts-frame"') == first.count("<svg") == len(steps)
    assert first.count(" hidden>") == len(steps) - 1
    for button in ("pts-prev", "pts-play", "pts-next", 'type="range"'):
        assert button in first
    ids = [re.search(r'id="(pts-steps-\w+)"', html)[1] for html in (first, second)]
    assert ids[0] != ids[1]  # two displays, two independent players
    assert not re.search(r"<script[^>]+src|<link|@import|widget", page)
    assert "Step 1 of 5: back through the tanh that made o" in page


@needs_dot
def test_a_frame_displays_its_picture_and_caption():
    html = backward_steps(neuron())[1]._repr_html_()
    assert "<svg" in html and "n.grad += 0.5 × 1 → 0.5" in html


@needs_dot
def test_frames_share_one_layout():
    """Only colours and grad texts change between frames, so the picture does not jump."""
    svgs = backward_steps(neuron()).svgs()
    # the coordinates of boxes, ovals and edges (a shaded cell adds a fill with its border's points)
    shapes = {frozenset(re.findall(r' (?:points|d|cx|cy)="([^"]*)"', svg)) for svg in svgs}
    assert len(shapes) == 1 and len(next(iter(shapes))) > 30
