"""The transformer pieces (Embedding, RMSNorm, CausalSelfAttention), the GPT model, its tokenizer,
training and sampling, and the names data set."""

import math
import random
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puretorch_scalar import Tensor, Value, data, nn
from puretorch_scalar.models import GPT, CharTokenizer, GPTConfig, sample, train
from puretorch_scalar.nn.transformer import causal_mask
from puretorch_scalar.testing import assert_grads_close, floats, tensors

TINY = GPTConfig(vocab_size=5, block_size=6, n_embd=4, n_head=2, init_std=0.5)


def tiny_gpt(seed=0, config=TINY):
    random.seed(seed)
    return GPT(config)


def logits_of(model, tokens):
    return model(tokens).tolist()


# -- data and tokenizer ----------------------------------------------------------------------


def test_load_names_is_the_census_list_lowercased_and_deduplicated():
    names = data.load_names()
    assert len(names) == 5163
    assert names == sorted(set(names))
    assert set("".join(names)) == set(string.ascii_lowercase)
    assert {"mary", "james", "emma"} <= set(names)


def test_tokenizer_encodes_with_bos_at_both_ends_and_decodes_back():
    tok = CharTokenizer(["emma", "ava"])
    assert tok.chars == ["a", "e", "m", "v"] and tok.bos == 4 and tok.vocab_size == 5
    assert tok.encode("ava") == [4, 0, 3, 0, 4]
    assert tok.decode(tok.encode("emma")) == "emma"
    assert tok.encode("") == [4, 4]


def test_tokenizer_errors_name_the_problem():
    tok = CharTokenizer(["ab"])
    with pytest.raises(ValueError, match=r"\['z'\]"):
        tok.encode("abz")
    with pytest.raises(ValueError, match="id 7"):
        tok.decode([0, 7])
    with pytest.raises(ValueError, match="no characters"):
        CharTokenizer([""])


# -- Embedding -------------------------------------------------------------------------------


def test_embedding_looks_up_rows_without_new_nodes():
    emb = nn.Embedding(5, 3)
    rows = emb([4, 0, 4])
    assert rows.shape == (3, 3)
    w = emb.weight.values()
    assert rows.values() == w[12:15] + w[0:3] + w[12:15]  # the weight's own Values, by identity
    assert emb(2).shape == (3,) and emb(2).values() == w[6:9]


def test_embedding_gradient_sums_over_the_positions_using_a_row():
    emb = nn.Embedding(4, 2)
    rows = emb([1, 3, 1])
    rows.backward([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert emb.weight.grad == [[0.0, 0.0], [6.0, 8.0], [0.0, 0.0], [3.0, 4.0]]


def test_embedding_errors():
    emb = nn.Embedding(4, 2)
    with pytest.raises(IndexError, match="id 4 is out of range for 4 embeddings"):
        emb([0, 4])
    with pytest.raises(IndexError, match="id -1"):
        emb(-1)
    with pytest.raises(TypeError, match="ints, not float"):
        emb([1.0])
    with pytest.raises(ValueError, match="embedding_dim must be a positive int"):
        nn.Embedding(4, 0)


# -- RMSNorm ---------------------------------------------------------------------------------


@given(tensors(shape=st.tuples(st.integers(1, 3), st.integers(1, 5)), min_value=-3, max_value=3))
def test_rmsnorm_rescales_every_row_to_unit_rms(x):
    norm = nn.RMSNorm(x.shape[1], elementwise_affine=False)
    assert norm.parameters() == []
    for row_in, row_out in zip(x.tolist(), norm(x).tolist()):
        mean_square = sum(a * a for a in row_in) / len(row_in)
        scale = 1 / math.sqrt(mean_square + norm.eps)
        assert row_out == pytest.approx([a * scale for a in row_in], rel=1e-12, abs=1e-12)


def test_rmsnorm_weight_multiplies_each_column():
    norm = nn.RMSNorm(2)
    nn.init.constant_(norm.weight, 3.0)
    norm.weight.values()[1].data = -1.0
    y = norm(Tensor([3.0, 4.0])).tolist()  # rms = √12.5
    assert y == pytest.approx([3 * 3 / math.sqrt(12.5 + 1e-5), -4 / math.sqrt(12.5 + 1e-5)])


@given(tensors(shape=(2, 3), min_value=-3, max_value=3), tensors(shape=(3,), min_value=-2, max_value=2))
def test_rmsnorm_gradients_match_central_differences(x, w):
    norm = nn.RMSNorm(3)
    norm.weight = nn.Parameter(w)
    assert_grads_close(lambda x, w: norm(x), [x, norm.weight])


@given(floats(0.1, 5.0))
def test_rmsnorm_output_does_not_depend_on_the_scale_of_its_input(c):
    norm = nn.RMSNorm(3, eps=0.0)
    x = [1.0, -2.0, 0.5]
    assert norm(Tensor([c * a for a in x])).tolist() == pytest.approx(norm(Tensor(x)).tolist(), rel=1e-12)


def test_rmsnorm_errors():
    with pytest.raises(ValueError, match=r"shape \(2, 3\) does not end in normalized_shape=4"):
        nn.RMSNorm(4)(Tensor.zeros(2, 3))
    with pytest.raises(ValueError, match="RMSNorm: eps must be a real number >= 0, got -1.0"):
        nn.RMSNorm(4, eps=-1.0)


# -- attention -------------------------------------------------------------------------------


def test_causal_mask_hides_the_future():
    assert causal_mask(3).tolist() == [[0.0, -math.inf, -math.inf], [0.0, 0.0, -math.inf], [0.0, 0.0, 0.0]]


def test_attention_of_a_single_position_passes_its_value_through():
    random.seed(0)
    attn = nn.CausalSelfAttention(4, 2)
    x = Tensor.randn(1, 4, seed=1)
    expected = attn.proj(attn.value(x))  # one position attends to itself with weight 1
    assert attn(x).tolist()[0] == pytest.approx(expected.tolist()[0], rel=1e-12)


def test_attention_computes_the_formula_head_by_head():
    attn = nn.CausalSelfAttention(4, 2)
    for linear in (attn.query, attn.key, attn.value, attn.proj):  # identity maps: q = k = v = x
        linear.weight = nn.Parameter([[float(i == j) for j in range(4)] for i in range(4)])
    x = [[0.5, -1.0, 2.0, 0.3], [1.5, 0.2, -0.7, 1.1], [-0.4, 0.9, 0.6, -1.2]]
    for t, row in enumerate(attn(Tensor(x)).tolist()):
        expected = []
        for cols in ([0, 1], [2, 3]):  # head 0, head 1
            scores = [sum(x[t][c] * x[s][c] for c in cols) / math.sqrt(2) for s in range(t + 1)]
            exps = [math.exp(z) for z in scores]
            expected += [sum(e * x[s][c] for s, e in enumerate(exps)) / sum(exps) for c in cols]
        assert row == pytest.approx(expected, rel=1e-12)


def test_attention_output_at_t_depends_on_positions_up_to_t_only():
    random.seed(0)
    attn = nn.CausalSelfAttention(4, 2)
    x = Tensor.randn(4, 4, seed=1)
    out = attn(x)
    for t in range(4):
        grads = Value.sum(out[t].values())
        grads.backward()
        g = x.grad
        assert all(v != 0.0 for row in g[: t + 1] for v in row)
        assert all(v == 0.0 for row in g[t + 1 :] for v in row)
        x.zero_grad()


@settings(max_examples=10)
@given(tensors(shape=(3, 4), min_value=-2, max_value=2), st.integers(0, 2**32 - 1))
def test_attention_gradients_match_central_differences(x, seed):
    random.seed(seed)
    attn = nn.CausalSelfAttention(4, 2)
    weights = [attn.query.weight, attn.key.weight, attn.value.weight, attn.proj.weight]
    assert_grads_close(lambda x, *ws: attn(x), [x, *weights])


def test_attention_errors():
    with pytest.raises(ValueError, match="n_embd=6 is not divisible by n_head=4"):
        nn.CausalSelfAttention(6, 4)
    with pytest.raises(ValueError, match=r"shape \(T, 4\), got \(2, 3\)"):
        nn.CausalSelfAttention(4, 2)(Tensor.zeros(2, 3))


# -- the GPT ---------------------------------------------------------------------------------


def test_microgpt_sized_model_has_4192_parameters():
    model = GPT(GPTConfig(vocab_size=27))
    shapes = {name: p.shape for name, p in model.named_parameters()}
    assert shapes == {
        "wte.weight": (27, 16),
        "wpe.weight": (16, 16),
        "blocks.0.attn.query.weight": (16, 16),
        "blocks.0.attn.key.weight": (16, 16),
        "blocks.0.attn.value.weight": (16, 16),
        "blocks.0.attn.proj.weight": (16, 16),
        "blocks.0.mlp.0.weight": (64, 16),
        "blocks.0.mlp.2.weight": (16, 64),
        "lm_head.weight": (27, 16),
    }
    assert sum(p.size for p in model.parameters()) == 4192


def test_forward_gives_next_token_logits_per_position():
    model = tiny_gpt()
    assert model([4, 0, 1]).shape == (3, 5)
    assert model([4]).shape == (1, 5)
    with pytest.raises(ValueError, match="got 7 tokens; the model takes 1 to block_size=6"):
        model([0] * 7)
    with pytest.raises(ValueError, match="at least 2 tokens"):
        model.loss([4])


def test_a_later_token_does_not_change_earlier_logits():
    model = tiny_gpt(config=GPTConfig(vocab_size=5, block_size=6, n_layer=2, n_embd=4, n_head=2))
    a, b = logits_of(model, [4, 0, 1, 2, 3]), logits_of(model, [4, 0, 1, 3, 0])
    assert a[:3] == b[:3]
    assert a[3] != b[3]


def test_initial_loss_is_near_uniform_guessing():
    random.seed(0)
    model = GPT(GPTConfig(vocab_size=27))
    tok = CharTokenizer(string.ascii_lowercase)
    loss = model.loss(tok.encode("emma")).item()
    assert abs(loss - math.log(27)) < 0.2  # small weights: every token about equally likely


class KinkFreeReLU(nn.ReLU):
    """A ReLU that checks its inputs stay clear of the kink at 0, where central differences fail."""

    def forward(self, x):
        assert min(abs(v.data) for v in x.values()) > 1e-3
        return x.relu()


def test_gpt_loss_gradients_match_central_differences():
    model = tiny_gpt(seed=3)
    model.blocks[0].mlp.layers[1] = KinkFreeReLU()
    tokens = [4, 2, 0, 3, 4]
    assert_grads_close(lambda *params: model.loss(tokens), model.parameters())


def test_training_lowers_the_loss():
    model = tiny_gpt()
    losses = train(model, [[4, 0, 1, 2, 4], [4, 2, 1, 4]], steps=40, lr=0.05)
    assert len(losses) == 40
    assert sum(losses[-4:]) / 4 < 0.5 * sum(losses[:4]) / 4


def test_train_errors():
    with pytest.raises(ValueError, match="steps must be a positive int"):
        train(tiny_gpt(), [[4, 0, 4]], steps=0)
    with pytest.raises(ValueError, match="docs is empty"):
        train(tiny_gpt(), [], steps=3)


# -- sampling --------------------------------------------------------------------------------


class RecordingRandom(random.Random):
    """Records the weights that `generate` samples from."""

    def choices(self, population, weights=None, **kwargs):
        self.weights = list(weights)
        return super().choices(population, weights=weights, **kwargs)


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_generate_samples_from_the_softmax_of_logits_over_temperature(temperature):
    model = tiny_gpt()
    rng = RecordingRandom(0)
    model.generate([4, 1], 1, temperature=temperature, rng=rng)
    logits = model([4, 1]).tolist()[-1]
    exps = [math.exp(z / temperature) for z in logits]
    assert rng.weights == pytest.approx([e / sum(exps) for e in exps], rel=1e-9)


def test_generate_with_a_tiny_temperature_is_greedy():
    model = tiny_gpt()
    tokens = model.generate([4], 5, temperature=1e-3, rng=random.Random(0))
    for t in range(1, len(tokens)):
        row = logits_of(model, tokens[:t])[-1]
        assert tokens[t] == row.index(max(row))


def test_generate_stops_at_the_stop_token_or_the_length_limit():
    model = tiny_gpt()
    tokens = model.generate([4], 100, temperature=2.0, stop_token=4, rng=random.Random(1))
    assert tokens[0] == 4 and len(tokens) <= 101
    assert 4 not in tokens[1:-1]
    long = model.generate([0], 10, temperature=2.0, rng=random.Random(1))  # no stop: context slides
    assert len(long) == 11
    with pytest.raises(ValueError, match="temperature must be a real number > 0, got 0"):
        model.generate([4], 1, temperature=0)


def test_sampling_is_reproducible_with_a_seed():
    model = tiny_gpt()
    tok = CharTokenizer(["abcd"])
    names = sample(model, tok, 8, temperature=1.0, seed=0)
    assert names == sample(model, tok, 8, temperature=1.0, seed=0)
    assert names != sample(model, tok, 8, temperature=1.0, seed=1)
    assert all(set(n) <= set("abcd") and len(n) <= TINY.block_size for n in names)


# -- PyTorch as an oracle --------------------------------------------------------------------


def torch_gpt_loss(torch, params, tokens, config):
    """The same GPT written with torch ops (its own causal attention), in float64."""
    F = torch.nn.functional
    C, H = config.n_embd, config.n_head
    T = len(tokens) - 1

    def norm(x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5)

    x = norm(params["wte.weight"][torch.tensor(tokens[:-1])] + params["wpe.weight"][:T])
    for i in range(config.n_layer):
        p = {
            name.split(f"blocks.{i}.")[1]: w for name, w in params.items() if name.startswith(f"blocks.{i}.")
        }
        h = norm(x)
        q, k, v = (
            (h @ p[f"attn.{n}.weight"].T).view(T, H, C // H).transpose(0, 1)
            for n in ("query", "key", "value")
        )
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(0, 1).reshape(T, C)
        x = x + y @ p["attn.proj.weight"].T
        x = x + F.relu(norm(x) @ p["mlp.0.weight"].T) @ p["mlp.2.weight"].T
    return F.cross_entropy(x @ params["lm_head.weight"].T, torch.tensor(tokens[1:]))


def test_loss_and_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    random.seed(0)
    config = GPTConfig(vocab_size=27, n_layer=2)
    model = GPT(config)
    tokens = CharTokenizer(string.ascii_lowercase).encode("abigail")
    loss = model.loss(tokens)
    loss.backward()
    params = {
        name: torch.tensor(p.tolist(), dtype=torch.float64, requires_grad=True)
        for name, p in model.named_parameters()
    }
    expected = torch_gpt_loss(torch, params, tokens, config)
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    for name, p in model.named_parameters():
        assert torch.allclose(
            torch.tensor(p.grad, dtype=torch.float64), params[name].grad, rtol=1e-9, atol=1e-12
        )
