"""A character-level LSTM language model reading text in one direction (Flair-style).

The forward model reads the text left to right; the backward model reads the reversed
text. The character vocabulary is built from the training text (id 0 is the unknown
character). A model is saved as one ``torch.save`` file holding only plain dicts,
lists, strings, numbers and tensors, so ``torch.load(..., weights_only=True)`` reads it.
"""
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import InputError
from ..io import AtomicFile
from .code_points import code_points

FORMAT = "spacy_rnn_ner.char_lm.v1"
DIRECTIONS = ("forward", "backward")
UNK = "<unk>"  # vocabulary entry 0; every real entry is a single character
LSTMState = Tuple[torch.Tensor, torch.Tensor]


def build_vocab(counts: Counter, min_count: int = 1) -> List[str]:
    """``[UNK] + characters seen at least min_count times``, most frequent first
    (ties by code point, so the vocabulary does not depend on reading order)."""
    chars = sorted((c for c, n in counts.items() if n >= min_count), key=lambda c: (-counts[c], c))
    return [UNK] + chars


class CharVocab:
    """Maps text to character ids with array operations (no Python loop per character)."""

    def __init__(self, chars: List[str]) -> None:
        if not chars or chars[0] != UNK or any(len(c) != 1 for c in chars[1:]):
            raise ValueError(f"a character vocabulary is [{UNK!r}] + single characters")
        self.chars = list(chars)
        codes = numpy.array([ord(c) for c in chars[1:]], dtype="int64")
        order = numpy.argsort(codes)
        self._codes = codes[order]
        self._ids = (order + 1).astype("int64")
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> numpy.ndarray:
        """``(len(text),)`` int64 ids, 0 for characters outside the vocabulary."""
        return self.encode_code_points(code_points(text))

    def encode_code_points(self, code_points: numpy.ndarray) -> numpy.ndarray:
        if len(self._codes) == 0:
            return numpy.zeros(len(code_points), dtype="int64")
        pos = numpy.minimum(numpy.searchsorted(self._codes, code_points), len(self._codes) - 1)
        return numpy.where(self._codes[pos] == code_points, self._ids[pos], 0)


class CharLM(nn.Module):
    """Character embedding → one LSTM layer → softmax over the next character.

    ``forward(ids, state)`` returns the LSTM's hidden states ``(batch, time, hidden)``
    (the contextual features) and the final state; ``logits`` scores next characters.
    Dropout (on embeddings and hidden states) is applied only when ``training=True``
    is passed explicitly.
    """

    def __init__(self, n_chars: int, embed_width: int = 64, hidden_width: int = 512,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.n_chars, self.embed_width, self.hidden_width = n_chars, embed_width, hidden_width
        self.dropout = dropout
        self.embed = nn.Embedding(n_chars, embed_width)
        self.lstm = nn.LSTM(embed_width, hidden_width, batch_first=True)
        self.decoder = nn.Linear(hidden_width, n_chars)

    def forward(self, ids: torch.Tensor, state: Optional[LSTMState] = None,
                training: bool = False) -> Tuple[torch.Tensor, LSTMState]:
        X = F.dropout(self.embed(ids), self.dropout, training=training)
        H, state = self.lstm(X, state)
        return H, state

    def logits(self, H: torch.Tensor, training: bool = False) -> torch.Tensor:
        return self.decoder(F.dropout(H, self.dropout, training=training))


class CharLanguageModel:
    """A :class:`CharLM` with its vocabulary and reading direction."""

    def __init__(self, vocab: CharVocab, direction: str = "forward", embed_width: int = 64,
                 hidden_width: int = 512, dropout: float = 0.1) -> None:
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        self.vocab = vocab
        self.direction = direction
        self.net = CharLM(len(vocab), embed_width, hidden_width, dropout)

    @property
    def hparams(self) -> Dict[str, Any]:
        return {"direction": self.direction, "embed_width": self.net.embed_width,
                "hidden_width": self.net.hidden_width, "dropout": self.net.dropout,
                "n_chars": self.net.n_chars}

    def encode(self, text: str) -> numpy.ndarray:
        """Ids in reading order (reversed for the backward model)."""
        ids = self.vocab.encode(text)
        return ids[::-1].copy() if self.direction == "backward" else ids

    def to_dict(self, **metadata: Any) -> Dict[str, Any]:
        """Plain content for ``torch.save`` (tensors on the CPU)."""
        state = {k: v.detach().cpu().clone() for k, v in self.net.state_dict().items()}
        return {"format": FORMAT, "hparams": self.hparams, "vocab": list(self.vocab.chars),
                "state_dict": state, "metadata": dict(metadata)}

    @classmethod
    def from_dict(cls, data: Dict[str, Any], source: str = "<dict>") -> "CharLanguageModel":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"{source}: not a character language model file ({FORMAT})")
        hp = data["hparams"]
        model = cls(CharVocab(data["vocab"]), hp["direction"], hp["embed_width"],
                    hp["hidden_width"], hp["dropout"])
        model.net.load_state_dict(data["state_dict"])
        return model

    def save(self, path: Union[str, Path], **metadata: Any) -> None:
        with AtomicFile(path, create_folder=True) as file:  # never a half-written model
            torch.save(self.to_dict(**metadata), file.fh)

    @classmethod
    def load(cls, path: Union[str, Path]) -> "CharLanguageModel":
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"character language model not found: {path}")
        return cls.from_dict(load_lm_dict(path), str(path))


def load_lm_dict(path: Union[str, Path]) -> Dict[str, Any]:
    """The plain content of a saved model (read with ``weights_only=True``); a damaged
    file is an :class:`~spacy_rnn_ner.errors.InputError` naming it."""
    try:
        return torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, pickle errors, not a torch file
        raise InputError(f"damaged or not a character language model ({type(err).__name__})",
                         path) from None


def vocab_from_text(text: str, min_count: int = 1) -> CharVocab:
    """The vocabulary of the characters of ``text`` seen at least ``min_count`` times."""
    codes, counts = numpy.unique(code_points(text), return_counts=True)
    return CharVocab(build_vocab(Counter({chr(int(c)): int(n) for c, n in zip(codes, counts)}), min_count))
