"""Complete models built from `puretorch_scalar.nn`: a character-level `GPT` and its tokenizer."""

from puretorch_scalar.models.gpt import GPT, Block, GPTConfig, sample, train
from puretorch_scalar.models.tokenizer import CharTokenizer

__all__ = ["GPT", "GPTConfig", "Block", "CharTokenizer", "train", "sample"]
