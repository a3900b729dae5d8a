"""nn: Module bookkeeping (registration, names, modes, state dicts, saving), Parameter, and the
layers (Linear against hand computation, central differences and PyTorch; MLP, Sequential)."""

import json
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretorch_scalar import Tensor, Value, nn, no_grad
from puretorch_scalar.engine import ParameterValue
from puretorch_scalar.testing import assert_grads_close, floats


class Net(nn.Module):
    """A module with every way of holding things: attribute, list of modules, list of
    parameters, nested module, plain data."""

    def __init__(self):
        self.hidden = nn.Linear(2, 3)
        self.heads = [nn.Linear(3, 1), nn.Linear(3, 1, bias=False)]
        self.scales = [nn.Parameter([1.0]), nn.Parameter([2.0])]
        self.block = nn.Sequential(nn.Linear(3, 3), nn.Tanh())
        self.note = "not a parameter"
        self.numbers = [1, 2, 3]

    def forward(self, x):
        h = self.block(self.hidden(x).relu())
        return self.heads[0](h) * self.scales[0] + self.heads[1](h) * self.scales[1]


# -- Module bookkeeping ---------------------------------------------------------------------------


def test_named_parameters_are_dotted_attribute_paths_own_first_as_in_pytorch():
    names = [name for name, _ in Net().named_parameters()]
    assert names == [
        "scales.0",
        "scales.1",
        "hidden.weight",
        "hidden.bias",
        "heads.0.weight",
        "heads.0.bias",
        "heads.1.weight",
        "block.0.weight",
        "block.0.bias",
    ]


def test_parameters_matches_named_parameters():
    net = Net()
    assert [p for p in net.parameters()] == [p for _, p in net.named_parameters()]
    assert all(isinstance(p, nn.Parameter) for p in net.parameters())


def test_shared_parameters_and_modules_are_listed_once():
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert [name for name, _ in model.named_modules()] == ["", "0", "1"]


def test_modules_and_children():
    net = Net()
    assert [name for name, _ in net.named_children()] == ["hidden", "heads.0", "heads.1", "block"]
    kinds = [type(m).__name__ for m in net.modules()]
    assert kinds == ["Net", "Linear", "Linear", "Linear", "Sequential", "Linear", "Tanh"]
    assert list(net.children())[-1] is net.block


def test_module_without_init_or_super_call_works():
    class Bare(nn.Module):
        def forward(self, x):
            return x

    bare = Bare()
    assert bare.parameters() == [] and bare.training and bare(3) == 3
    assert repr(bare) == "Bare()"


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="Empty must define forward"):
        type("Empty", (nn.Module,), {})()(1.0)


def test_train_and_eval_reach_every_submodule_and_return_self():
    net = Net()
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert net.train() is net
    assert all(m.training for m in net.modules())


def test_zero_grad_clears_every_parameter_element():
    net = Net()
    net(Tensor([[0.5, -1.0]])).sum().backward()
    assert any(v.grad != 0.0 for p in net.parameters() for v in p.values())
    net.zero_grad()
    assert all(v.grad == 0.0 for p in net.parameters() for v in p.values())


# -- Parameter ----------------------------------------------------------------------------------


def test_parameter_elements_are_fresh_parameter_leaves():
    source = Tensor([[1.0, 2.0], [3.0, 4.0]])
    p = nn.Parameter(source)
    assert isinstance(p, Tensor) and p.shape == (2, 2) and p.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert all(type(v) is ParameterValue and not v.children for v in p.values())
    assert not set(p.values()) & set(source.values())  # copied, not shared
    assert repr(p).startswith("Parameter containing:\ntensor(")


def test_operations_on_parameters_give_plain_tensors():
    p = nn.Parameter([1.0, 2.0])
    assert type(p * 2) is Tensor


# -- state dicts, saving and loading ------------------------------------------------------------


def test_state_dict_is_json_serialisable_nested_floats():
    net = Net()
    state = net.state_dict()
    assert list(state) == [name for name, _ in net.named_parameters()]
    assert state["hidden.weight"] == net.hidden.weight.tolist()
    assert json.loads(json.dumps(state)) == state


def test_load_state_dict_copies_numbers_into_the_same_parameter_objects():
    source, target = Net(), Net()
    before = target.parameters()
    target.load_state_dict(source.state_dict())
    assert target.state_dict() == source.state_dict()
    assert all(a is b for a, b in zip(before, target.parameters()))
    x = [[0.3, -0.7]]
    assert target(x).tolist() == source(x).tolist()


def test_load_state_dict_names_missing_and_unexpected_keys_and_changes_nothing():
    net = Net()
    original = net.state_dict()
    state = Net().state_dict()
    del state["hidden.bias"]
    state["extra.weight"] = [1.0]
    with pytest.raises(KeyError, match=r"missing keys \['hidden.bias'\].*unexpected keys \['extra.weight'\]"):
        net.load_state_dict(state)
    assert net.state_dict() == original


def test_load_state_dict_shape_mismatch_names_both_shapes_and_changes_nothing():
    net = Net()
    original = net.state_dict()
    state = Net().state_dict()  # every entry valid except the last one checked
    state["block.0.bias"] = [0.0, 0.0]
    with pytest.raises(ValueError, match=r"'block.0.bias' has shape \(2,\) in the state dict but \(3,\)"):
        net.load_state_dict(state)
    assert net.state_dict() == original


def test_load_state_dict_rejects_ragged_or_non_numeric_entries_without_changes():
    net = nn.Linear(2, 2)
    original = net.state_dict()
    with pytest.raises(ValueError, match="ragged"):
        net.load_state_dict({"weight": [[1.0, 2.0], [3.0]], "bias": [0.0, 0.0]})
    with pytest.raises(TypeError, match="str"):
        net.load_state_dict({"weight": [[1.0, 2.0], [3.0, 4.0]], "bias": ["a", 0.0]})
    assert net.state_dict() == original


def test_save_and_load_round_trip_through_json(tmp_path):
    path = tmp_path / "model.json"
    trained = nn.MLP(2, [4, 1])
    trained.save(path)
    assert json.loads(path.read_text()) == trained.state_dict()
    fresh = nn.MLP(2, [4, 1])
    assert fresh.load(path) is fresh
    assert fresh.state_dict() == trained.state_dict()


def test_load_into_a_different_architecture_fails_clearly(tmp_path):
    path = tmp_path / "model.json"
    nn.MLP(2, [4, 1]).save(path)
    with pytest.raises(ValueError, match="'0.weight' has shape"):
        nn.MLP(2, [5, 1]).load(path)


# -- repr -----------------------------------------------------------------------------------------


def test_repr_looks_like_pytorch():
    assert repr(nn.MLP(2, [16, 1])) == (
        "MLP(\n"
        "  (0): Linear(in_features=2, out_features=16, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=16, out_features=1, bias=True)\n"
        ")"
    )
    nested = nn.Sequential(nn.Sequential(nn.Linear(1, 1, bias=False)), nn.Sigmoid())
    assert repr(nested) == (
        "Sequential(\n"
        "  (0): Sequential(\n"
        "    (0): Linear(in_features=1, out_features=1, bias=False)\n"
        "  )\n"
        "  (1): Sigmoid()\n"
        ")"
    )


# -- Linear ---------------------------------------------------------------------------------------


def test_linear_shapes_and_pytorch_default_init():
    random.seed(0)
    layer = nn.Linear(25, 40)
    assert layer.weight.shape == (40, 25) and layer.bias.shape == (40,)
    bound = 1 / math.sqrt(25)  # 0.2
    weights = [v.data for v in layer.weight.values()]
    biases = [v.data for v in layer.bias.values()]
    assert all(-bound <= w <= bound for w in weights + biases)
    assert max(weights) > 0.9 * bound and min(weights) < -0.9 * bound  # spread over the whole range
    assert max(biases) > 0.5 * bound and min(biases) < -0.5 * bound


def test_linear_init_follows_random_seed():
    random.seed(3)
    a = nn.Linear(3, 2).state_dict()
    random.seed(3)
    assert nn.Linear(3, 2).state_dict() == a


def _by_hand(layer, x):
    W, b = layer.weight.tolist(), layer.bias.tolist() if layer.bias is not None else None
    return [sum(w * xi for w, xi in zip(row, x)) + (b[j] if b else 0.0) for j, row in enumerate(W)]


@pytest.mark.parametrize("bias", [True, False])
def test_linear_computes_x_times_w_transposed_plus_b(bias):
    layer = nn.Linear(3, 2, bias=bias)
    X = [[1.0, 2.0, 3.0], [-0.5, 0.0, 4.0]]
    out = layer(X)
    assert out.shape == (2, 2)
    for row, expected in zip(out.tolist(), (_by_hand(layer, x) for x in X)):
        assert row == pytest.approx(expected)
    single = layer(Tensor(X[0]))
    assert single.shape == (2,) and single.tolist() == pytest.approx(_by_hand(layer, X[0]))


def test_linear_makes_one_dot_node_per_output_element():
    layer = nn.Linear(4, 3)
    out = layer(Tensor.ones(5, 4))
    assert all(v.op == "dot" for v in out.values())
    node = out.values()[0]
    params = set(layer.weight.values()) | set(layer.bias.values())
    assert len(node.children) == 2 * (4 + 1)
    assert sum(child in params for child in node.children) == 4 + 1


def test_linear_rejects_wrong_widths_and_ranks():
    layer = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"input has 4 features.*in_features=3"):
        layer(Tensor.ones(2, 4))
    with pytest.raises(ValueError, match=r"got \(2, 2, 3\)"):
        layer(Tensor.ones(2, 2, 3))
    with pytest.raises(ValueError, match="in_features must be a positive int"):
        nn.Linear(0, 2)
    with pytest.raises(ValueError, match="out_features must be a positive int"):
        nn.Linear(2, 1.5)


def test_linear_under_no_grad_builds_no_graph():
    layer = nn.Linear(2, 2)
    with no_grad():
        out = layer([[1.0, 2.0]])
    assert all(not v.children for v in out.values())


@given(st.lists(floats(-2, 2), min_size=3, max_size=3))
def test_linear_gradients_match_central_differences(xs):
    random.seed(1)
    layer = nn.Linear(3, 2)
    x = Tensor([xs])
    # A smooth scalar of the output: every weight, bias and input element gets a gradient.
    f = lambda x, w, b: (layer(x) * Tensor([[1.5, -0.5]])).tanh().sum()
    assert_grads_close(f, [x, layer.weight, layer.bias])


def test_linear_matches_torch():
    torch = pytest.importorskip("torch")
    random.seed(2)
    layer = nn.Linear(3, 2)
    X = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]
    x = Tensor(X)
    (layer(x) ** 2).sum().backward()

    ref = torch.nn.Linear(3, 2).double()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(layer.weight.tolist()))
        ref.bias.copy_(torch.tensor(layer.bias.tolist()))
    tx = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    (ref(tx) ** 2).sum().backward()
    close = lambda ours, theirs: torch.testing.assert_close(torch.tensor(ours, dtype=torch.float64), theirs)
    close(layer(X).tolist(), ref(tx))
    close(layer.weight.grad, ref.weight.grad)
    close(layer.bias.grad, ref.bias.grad)
    close(x.grad, tx.grad)


# -- activations, Sequential, MLP -----------------------------------------------------------------


@pytest.mark.parametrize(
    "module, f",
    [
        (nn.ReLU(), lambda x: max(0.0, x)),
        (nn.Tanh(), math.tanh),
        (nn.Sigmoid(), lambda x: 1 / (1 + math.exp(-x))),
    ],
)
def test_activations_apply_elementwise(module, f):
    xs = [-2.0, -0.5, 0.0, 0.5, 2.0]
    assert module(Tensor(xs)).tolist() == pytest.approx([f(x) for x in xs])
    assert module(Value(0.5)).data == pytest.approx(f(0.5))


def test_sequential_applies_in_order_and_indexes():
    first, second = nn.Linear(2, 3), nn.Linear(3, 1)
    model = nn.Sequential(first, nn.ReLU(), second)
    x = Tensor([[1.0, -1.0]])
    assert model(x).tolist() == second(first(x).relu()).tolist()
    assert len(model) == 3 and model[0] is first and model[2] is second


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="argument 1 has type function, not a Module"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_micrograd_mlp_shape_has_337_parameters():
    model = nn.MLP(2, [16, 16, 1])
    assert sum(p.size for p in model.parameters()) == 337
    assert [type(m).__name__ for m in model.layers] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert model(Tensor.ones(5, 2)).shape == (5, 1)


def test_mlp_activation_choice_and_errors():
    assert isinstance(nn.MLP(2, [3, 1], activation="tanh")[1], nn.Tanh)
    with pytest.raises(
        ValueError, match=r"MLP: activation must be one of \('relu', 'tanh', 'sigmoid'\), got 'gelu'"
    ):
        nn.MLP(2, [3, 1], activation="gelu")
    with pytest.raises(ValueError, match="at least one layer"):
        nn.MLP(2, [])


def test_init_functions_fill_in_place():
    layer = nn.Linear(3, 4)
    assert nn.init.zeros_(layer.bias) is layer.bias and layer.bias.tolist() == [0.0] * 4
    nn.init.constant_(layer.bias, 2)
    assert layer.bias.tolist() == [2.0] * 4
    nn.init.uniform_(layer.weight, -1.0, 1.0)
    assert all(-1 <= w <= 1 for w in (v.data for v in layer.weight.values()))
    assert max(abs(v.data) for v in layer.weight.values()) > 1 / math.sqrt(3)  # beyond the default bound
