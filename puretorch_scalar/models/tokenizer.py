"""`CharTokenizer`: text to token ids and back, one token per character, plus BOS."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["CharTokenizer"]


class CharTokenizer:
    """Each distinct character of the training documents is one token (ids 0 … n−1, in sorted
    order), and one more token, BOS (id n), marks where a document begins and ends:

        tok = CharTokenizer(["emma", "ava"])     # chars a, e, m, v → ids 0, 1, 2, 3; BOS = 4
        tok.encode("ava")                         # [4, 0, 3, 0, 4]
        tok.decode([0, 3, 0])                     # "ava"

    A model trained on encoded documents learns to predict each next token; after the last
    character the next token is BOS, which is how it learns where a name ends."""

    def __init__(self, docs: Iterable[str]):
        self.chars = sorted(set("".join(docs)))
        if not self.chars:
            raise ValueError("CharTokenizer: the documents contain no characters")
        self.ids = {c: i for i, c in enumerate(self.chars)}
        self.bos = len(self.chars)

    @property
    def vocab_size(self) -> int:
        """How many tokens there are: the characters and BOS."""
        return len(self.chars) + 1

    def encode(self, doc: str) -> list[int]:
        """[BOS, ids of doc's characters…, BOS]."""
        unknown = sorted(set(doc) - self.ids.keys())
        if unknown:
            raise ValueError(f"CharTokenizer: characters {unknown} of {doc!r} are not in the vocabulary")
        return [self.bos, *(self.ids[c] for c in doc), self.bos]

    def decode(self, ids: Sequence[int]) -> str:
        """The characters of `ids`, with BOS tokens left out."""
        for i in ids:
            if not 0 <= i <= self.bos:
                raise ValueError(f"CharTokenizer: id {i} is out of range for {self.vocab_size} tokens")
        return "".join(self.chars[i] for i in ids if i != self.bos)

    def __repr__(self) -> str:
        return f"CharTokenizer(chars={''.join(self.chars)!r}, bos={self.bos})"
