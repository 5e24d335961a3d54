"""``abbrev_sentencizer``: spaCy's rule-based ``sentencizer`` that knows abbreviations,
initials and line breaks.

spaCy's ``sentencizer`` starts a sentence after every run of sentence-final punctuation,
so 'Т. Шевченко', 'м. Київ', 'вул. Хрещатик' and '162 тис. грн' are cut in two, and the
``rnn_ner`` decoder, which never lets an entity cross a sentence start, can then not find
them whole. This component keeps spaCy's rule and adds three exceptions after a period
(``.`` alone, not ``!``, ``?`` or ``…``), and one more boundary:

- no sentence starts at a word whose first letter is lowercase ('тис. грн', 'млн. євро');
  (an opening quote, bracket or dash before the next sentence's first word goes with it);
- none after an initial: a single uppercase letter before the period ('Т. Шевченко');
- none after an abbreviation of ``abbreviations`` ('м.', 'вул.', 'ім.', ...) whatever follows;
- none inside « » quotes that close within a few words ('« Голос . Діти »');
- with ``newline_starts``, a sentence starts at the first word after a line break (a
  heading without a final period does not run into the next paragraph).

The decision is a pure function of the tokens' texts (:func:`sentence_starts`), so it
is tested without a pipeline. The settings live in the config; nothing is saved with the
pipeline beyond it.
"""
from typing import Callable, Iterable, Iterator, List, Optional, Sequence

import numpy

from spacy.errors import Errors
from spacy.language import Language
from spacy.pipeline import Sentencizer
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry

from .errors import config_error

# Ukrainian abbreviations that are followed by a name or a number, not a sentence end:
# places and streets, titles, 'імені', 'святого', 'стаття', 'пункт', 'сторінка', 'том'.
# Abbreviations that often end a sentence ('р.', 'рр.', 'грн.', 'тис.', 'млн.', 'ін.')
# are not listed: the lowercase rule keeps them inside a sentence when the text goes on.
UK_ABBREVIATIONS = (
    "м", "с", "смт", "сел", "х", "обл", "р-н", "вул", "пров", "просп", "пр", "пр-т", "бул",
    "бульв", "пл", "наб", "узв", "туп", "ш", "майд", "буд", "кв", "оф", "ім", "св", "проф",
    "акад", "доц", "д-р", "ген", "полк", "підполк", "ст", "п", "пп", "ч", "стор", "т", "вип",
    "див", "напр", "пор", "о", "оз", "г", "ім'я", "гр", "пан", "пані", "вл",
)
SENT_END_CHARS = Sentencizer.default_punct_chars
# punctuation that opens the next sentence rather than closing the last one
OPENERS = frozenset("«„([{—–-")
OPEN_QUOTES = frozenset("«„")
CLOSE_QUOTES = frozenset("»“")
# a period inside quotes closed within this many tokens is part of a name or title
QUOTE_WINDOW = 8


def sentence_starts(
    words: Sequence[str],
    punct_chars: Iterable[str] = SENT_END_CHARS,
    abbreviations: Iterable[str] = UK_ABBREVIATIONS,
    newline_starts: bool = True,
) -> List[bool]:
    """Whether each token starts a sentence: spaCy's ``sentencizer`` rule (a sentence
    starts at the first non-punctuation token after sentence-final punctuation) with the
    exceptions after a period and the line-break rule of this module."""
    punct = set(punct_chars)
    abbrevs = {a.lower() for a in abbreviations}
    starts = [False] * len(words)
    if not words:
        return starts
    starts[0] = True
    end_seen = False      # sentence-final punctuation since the last word
    kept = False          # ... but only a period after an initial or an abbreviation
    line_break = False
    opener: Optional[int] = None  # an opening quote, bracket or dash after the end
    last_word: Optional[str] = None
    in_quote = False      # inside « ... » (or „ ... “) opened on this line
    for i, word in enumerate(words):
        if not word.strip():
            line_break = line_break or "\n" in word
            in_quote = in_quote and not line_break
            continue
        if word in OPEN_QUOTES:
            in_quote = not end_seen  # after a sentence end it opens the next sentence
        elif word in CLOSE_QUOTES:
            in_quote = False
        if word in punct:
            if not end_seen:
                kept = word == "." and last_word is not None and _binds_forward(last_word, abbrevs)
            end_seen = True
            opener = None
        elif _is_punct(word):
            if opener is None and (word in OPENERS or line_break):
                opener = i
        else:
            first = i if opener is None else opener
            if line_break and newline_starts:
                starts[first] = True
            elif end_seen and not kept and not word[0].islower() \
                    and not (in_quote and _closes_soon(words, i)):
                starts[first] = True
            end_seen = kept = line_break = False
            opener = None
            last_word = word
    return starts


def _closes_soon(words: Sequence[str], i: int) -> bool:
    """A closing quote within :data:`QUOTE_WINDOW` tokens from ``i``, before any line break:
    the period was inside a short quoted name ('« Голос . Діти »'), not a sentence end."""
    for word in words[i: i + QUOTE_WINDOW]:
        if word in CLOSE_QUOTES:
            return True
        if "\n" in word:
            return False
    return False


def _is_punct(word: str) -> bool:
    return not any(ch.isalnum() for ch in word)


def _binds_forward(word: str, abbreviations: set) -> bool:
    """A period after ``word`` does not end a sentence: an initial or an abbreviation."""
    return (len(word) == 1 and word.isupper()) or word.lower() in abbreviations


class AbbrevSentencizer:
    """Sets ``token.is_sent_start`` by :func:`sentence_starts` (see the module)."""

    def __init__(
        self,
        name: str = "abbrev_sentencizer",
        *,
        punct_chars: Optional[List[str]] = None,
        abbreviations: Optional[List[str]] = None,
        newline_starts: bool = True,
        overwrite: bool = False,
        scorer: Optional[Callable] = None,
    ) -> None:
        self.name = name
        self.punct_chars = list(punct_chars) if punct_chars else list(SENT_END_CHARS)
        self.abbreviations = list(abbreviations) if abbreviations is not None else list(UK_ABBREVIATIONS)
        self.newline_starts = newline_starts
        self.overwrite = overwrite
        self.scorer = scorer

    def __call__(self, doc: Doc) -> Doc:
        if len(doc) == 0 or (doc.has_annotation("SENT_START") and not self.overwrite):
            return doc
        if doc.has_annotation("DEP"):
            raise ValueError(Errors.E043)  # what Token.is_sent_start's setter says
        starts = sentence_starts(
            [t.text for t in doc], self.punct_chars, self.abbreviations, self.newline_starts
        )
        # one array for the whole doc: the per-token setter checks the doc's DEP
        # annotation each time (quadratic: 9 s for a 20,000-token doc)
        values = numpy.where(numpy.asarray(starts, dtype=bool), 1, -1).astype("int64")
        doc.from_array(["SENT_START"], values.astype("uint64")[:, None])
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        for doc in stream:
            yield self(doc)

    def score(self, examples: Iterable[Example], **kwargs) -> dict:
        if self.scorer is None:
            return {}
        return self.scorer(examples, **kwargs)


@registry.scorers("spacy_rnn_ner.sentence_scorer.v1")
def make_sentence_scorer() -> Callable:
    """Sentence-start precision, recall and F (``sents_p/r/f``), as spaCy's senter scores."""
    def score(examples: Iterable[Example], **kwargs) -> dict:
        return Scorer.score_spans(examples, "sents", **kwargs)
    return score


@Language.factory(
    "abbrev_sentencizer",
    assigns=["token.is_sent_start", "doc.sents"],
    default_config={
        "punct_chars": None,
        "abbreviations": None,
        "newline_starts": True,
        "overwrite": False,
        "scorer": {"@scorers": "spacy_rnn_ner.sentence_scorer.v1"},
    },
    default_score_weights={"sents_f": 1.0, "sents_p": 0.0, "sents_r": 0.0},
)
def make_abbrev_sentencizer(
    nlp: Language,
    name: str,
    punct_chars: Optional[List[str]],
    abbreviations: Optional[List[str]],
    newline_starts: bool,
    overwrite: bool,
    scorer: Optional[Callable],
) -> AbbrevSentencizer:
    """Create an ``abbrev_sentencizer``. ``punct_chars``: sentence-final characters
    (null: spaCy's sentencizer's; an empty list or an empty string in it is a config
    error); ``abbreviations``: words after which a period never ends a sentence (null: the
    Ukrainian list of this module; ``[]``: none), written with or without their period
    ('м.' is 'м': the period is a token of its own and is stripped; an empty entry, or
    one holding whitespace, is a config error); ``newline_starts``: a line break starts a sentence."""
    block = "abbrev_sentencizer"
    if punct_chars is not None:
        if not punct_chars:
            raise config_error(block, "punct_chars", f"{block}: punct_chars is an empty list: no "
                               "sentence would ever end at punctuation; give null for spaCy's "
                               "sentence-final characters")
        if any(not p for p in punct_chars):
            raise config_error(block, "punct_chars", f"{block}: punct_chars holds an empty string, "
                               "which no token is; give the sentence-final characters")
    if abbreviations is not None:
        if any(not a.rstrip(".") for a in abbreviations):
            raise config_error(block, "abbreviations", f"{block}: abbreviations holds an empty "
                               "entry (or one of periods only); give words such as 'м' or 'вул.'")
        spaced = [a for a in abbreviations if any(ch.isspace() for ch in a)]
        if spaced:
            raise config_error(block, "abbreviations", f"{block}: abbreviations entry {spaced[0]!r} "
                               "holds whitespace, which no token does, so it would never match; "
                               "give the word alone, such as 'м' or 'вул.'")
        abbreviations = [a.rstrip(".") for a in abbreviations]
    return AbbrevSentencizer(
        name, punct_chars=punct_chars, abbreviations=abbreviations,
        newline_starts=newline_starts, overwrite=overwrite, scorer=scorer,
    )
