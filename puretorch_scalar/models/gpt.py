"""A GPT: the decoder-only transformer, small enough to train on scalars in pure Python.

With the default `GPTConfig` this is the model of Karpathy's microgpt (2026): one block, 16-wide
embeddings, 4 heads, a context of 16 tokens, parameter-free RMSNorm, a ReLU MLP, no biases;
4,192 parameters for a vocabulary of 27. Top to bottom, for T tokens:

    x = norm(wte[tokens] + wpe[0 … T−1])        (T, C)  token and position embeddings
    x = x + attn(norm(x))                        (T, C)  every block: positions exchange information,
    x = x + mlp(norm(x))                         (T, C)  then each position thinks on its own
    logits = lm_head(x)                          (T, V)  scores for the token that comes next

    loss = cross_entropy(GPT(tokens[:-1]), tokens[1:])  each position predicts the token after it

`train` runs microgpt's schedule (one document per step, Adam, linearly decaying learning rate)
and `sample` draws new documents from a trained model.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from tqdm.auto import tqdm

from puretorch_scalar import optim
from puretorch_scalar.checks import positive_int, real
from puretorch_scalar.engine import no_grad
from puretorch_scalar.models.tokenizer import CharTokenizer
from puretorch_scalar.nn import functional as F
from puretorch_scalar.nn import init
from puretorch_scalar.nn.layers import Linear, ReLU, Sequential
from puretorch_scalar.nn.module import Module
from puretorch_scalar.nn.transformer import CausalSelfAttention, Embedding, RMSNorm
from puretorch_scalar.tensor import Tensor
from puretorch_scalar.train import collector_paused

__all__ = ["GPTConfig", "Block", "GPT", "train", "sample"]


@dataclass(frozen=True)
class GPTConfig:
    """The sizes of a GPT; the defaults are microgpt's (only `vocab_size` must be given)."""

    vocab_size: int
    block_size: int = 16  # the longest context: how many positions have an embedding
    n_layer: int = 1
    n_embd: int = 16  # C, the width of every position's row
    n_head: int = 4
    init_std: float = 0.08  # every weight starts as N(0, init_std²)


class Block(Module):
    """One transformer block, pre-norm: attention, then a 4×-wide ReLU MLP, each added to its
    input (the residual stream), so a block refines the rows rather than replacing them."""

    def __init__(self, n_embd: int, n_head: int):
        self.attn_norm = RMSNorm(n_embd, elementwise_affine=False)
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.mlp_norm = RMSNorm(n_embd, elementwise_affine=False)
        self.mlp = Sequential(
            Linear(n_embd, 4 * n_embd, bias=False), ReLU(), Linear(4 * n_embd, n_embd, bias=False)
        )

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.attn_norm(x))  # (T, C)
        return x + self.mlp(self.mlp_norm(x))  # (T, C)


class GPT(Module):
    """`GPT(config)(tokens)`: the next-token logits `(T, vocab_size)` for a list of T token ids
    (T ≤ block_size). Weights are drawn from Python's `random`: `random.seed(…)` repeats a model."""

    def __init__(self, config: GPTConfig):
        self.config = config
        self.wte = Embedding(config.vocab_size, config.n_embd)
        self.wpe = Embedding(config.block_size, config.n_embd)
        self.norm = RMSNorm(config.n_embd, elementwise_affine=False)
        self.blocks = [Block(config.n_embd, config.n_head) for _ in range(config.n_layer)]
        self.lm_head = Linear(config.n_embd, config.vocab_size, bias=False)
        for p in self.parameters():
            init.normal_(p, 0.0, config.init_std)

    def forward(self, tokens: Sequence[int]) -> Tensor:
        T = len(tokens)
        if not 1 <= T <= self.config.block_size:
            raise ValueError(f"GPT: got {T} tokens; the model takes 1 to block_size={self.config.block_size}")
        x = self.norm(self.wte(tokens) + self.wpe(range(T)))  # (T, C)
        for block in self.blocks:
            x = block(x)  # (T, C)
        return self.lm_head(x)  # (T, V)

    def loss(self, tokens: Sequence[int]) -> Tensor:
        """The mean cross-entropy of predicting tokens[1:] from the tokens before each: a 0-d Tensor."""
        if len(tokens) < 2:
            raise ValueError(f"GPT.loss: needs at least 2 tokens (an input and what follows), got {tokens!r}")
        return F.cross_entropy(self(tokens[:-1]), tokens[1:])

    @no_grad()
    def generate(
        self,
        tokens: Sequence[int],
        max_new_tokens: int,
        temperature: float = 1.0,
        stop_token: int | None = None,
        rng: random.Random | None = None,
    ) -> list[int]:
        """`tokens` followed by up to `max_new_tokens` sampled ones, each drawn from
        softmax(logits / temperature) of the last position, with the last block_size tokens as
        context; stops early after `stop_token`. Lower temperatures sharpen the distribution
        (more typical, less varied output). `rng` (default: Python's global `random`) makes it
        reproducible: `rng=random.Random(0)`."""
        temperature = real(temperature, "temperature", "GPT.generate", low=0, include_low=False)
        rng = rng or random
        tokens = list(tokens)
        choices = range(self.config.vocab_size)
        for _ in range(max_new_tokens):
            logits = self(tokens[-self.config.block_size :])[-1]  # (V,): what comes after the last token
            probs = (logits / temperature).softmax()  # (V,)
            tokens.append(rng.choices(choices, weights=probs.tolist())[0])
            if tokens[-1] == stop_token:
                break
        return tokens

    def extra_repr(self) -> str:
        return f"params={sum(p.size for p in self.parameters()):,}"


def train(
    model: GPT,
    docs: Sequence[Sequence[int]],
    steps: int,
    lr: float = 0.01,
    betas: tuple[float, float] = (0.85, 0.99),
    progress: bool = False,
) -> list[float]:
    """microgpt's training schedule: step i trains on the one document docs[i mod len(docs)]
    (token ids, e.g. `tokenizer.encode(name)`), with Adam whose learning rate decays linearly
    from `lr` to 0. Returns the loss of every step."""
    steps = positive_int(steps, "steps", "train")
    if not docs:
        raise ValueError("train: docs is empty; give it token lists such as tokenizer.encode(name)")
    opt = optim.Adam(model.parameters(), lr=lr, betas=betas)
    losses = []
    bar = tqdm(range(steps), disable=not progress, desc="training")
    for step in collector_paused(bar):  # see train.py: 5% of a step
        loss = model.loss(docs[step % len(docs)])
        opt.zero_grad()
        loss.backward()
        opt.lr = lr * (1 - step / steps)
        opt.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
    return losses


def sample(
    model: GPT, tokenizer: CharTokenizer, num_samples: int, temperature: float = 0.5, seed: int | None = None
) -> list[str]:
    """`num_samples` new documents: each starts from BOS and runs until the model emits BOS
    (or the context is full). `seed` makes the list reproducible."""
    rng = random.Random(seed)
    bos, n = tokenizer.bos, model.config.block_size
    return [
        tokenizer.decode(model.generate([bos], n, temperature, stop_token=bos, rng=rng))
        for _ in range(num_samples)
    ]
