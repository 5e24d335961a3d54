"""Binary lexicon features per token: gazetteer membership and morphological tags.

A token fires the feature of a gazetteer when its lowercased form, or one of its
lemmas, is in the list. With ``morphology="pymorphy3"`` lemmas and tags (grammemes such
as ``Name``, ``Surn``, ``Patr``, ``Abbr``) come from pymorphy3's analyzer for ``lang``.

The word lists are read from disk in ``initialize`` and stored in the model (its
``attrs``), so a trained pipeline carries them and loads without the files.
"""
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

import numpy
from spacy.tokens import Doc
from thinc.api import Model
from thinc.types import Floats2d

from ..errors import InputError, config_error, import_optional
from ..io import file_kind, not_a_regular_file, read_text
from .caches import LRUCache, transient
from .unique_words import no_gradient, unique_keys

MORPHOLOGIES = ("none", "pymorphy3")
ARCH = "spacy_rnn_ner.LexiconFeatures.v1"
LOOKUP_CACHE_WORDS = 100_000


def read_word_list(path: Path) -> List[str]:
    """First whitespace-separated field of each line, lowercased; blank lines and
    ``#`` comments are skipped (the layout of plain word lists and of VESUM ``.lst``).
    UTF-8 with or without a byte-order mark; other bytes are an error naming the file."""
    words = []
    for line in read_text(path).split("\n"):
        line = line.split("#", 1)[0].strip()
        if line:
            words.append(line.split()[0].lower())
    return words


def morph_analyzer(lang: str) -> Any:
    """pymorphy3's ``MorphAnalyzer`` for ``lang``; a language without a pymorphy3
    dictionary is a ``ValueError`` saying which languages have one."""
    pymorphy3 = import_optional("pymorphy3", "lexicon", "LexiconFeatures with morphology='pymorphy3'")
    try:
        return pymorphy3.MorphAnalyzer(lang=lang)
    except ValueError as err:  # "Can't find a dictionary for language 'en'. Installed languages: [...]"
        raise ValueError(f"morphology 'pymorphy3': {err}") from None


def _load_analyzer(morphology: str, lang: str) -> Optional[Callable[[str], Iterable]]:
    if morphology == "none":
        return None
    return morph_analyzer(lang).parse


def unknown_grammemes(names: Sequence[str], lang: str) -> List[str]:
    """The names in ``names`` that pymorphy3 does not know for ``lang`` (a feature on one
    would never fire); none when pymorphy3 is not installed (its absence is reported where
    the analyzer is loaded)."""
    try:
        import pymorphy3  # noqa: F401
    except ImportError:
        return []
    known = morph_analyzer(lang).TagClass.KNOWN_GRAMMEMES
    return [name for name in names if name not in known]


def lexicon_features_layer(
    gazetteers: Dict[str, List[str]],
    directory: str,
    grammemes: Sequence[str],
    morphology: str,
    lang: str,
) -> Model[List[Doc], List[Floats2d]]:
    """thinc layer: ``(n_tokens, len(gazetteers) + len(grammemes))`` 0/1 features per doc.

    gazetteers: feature name → word-list files (relative to ``directory``).
    """
    if morphology not in MORPHOLOGIES:
        raise config_error(ARCH, "morphology", f"LexiconFeatures: unknown morphology {morphology!r}; "
                           "valid choices: " + ", ".join(repr(m) for m in MORPHOLOGIES))
    if grammemes and morphology == "none":
        raise config_error(ARCH, "grammemes", "LexiconFeatures: 'grammemes' need morphology = 'pymorphy3'.")
    unknown = unknown_grammemes(grammemes, lang) if grammemes else []
    if unknown:
        raise config_error(ARCH, "grammemes", f"{ARCH}: 'grammemes': pymorphy3 knows no grammeme "
                           f"{', '.join(unknown)} for {lang} (e.g. Name, Surn, Patr, Geox, Abbr): the "
                           "feature could never fire")
    empty = [name for name, files in gazetteers.items() if not files]
    if empty:
        raise config_error(ARCH, "gazetteers", f"{ARCH}: gazetteer(s) {', '.join(map(repr, empty))} name "
                           "no word list file: the feature could never fire (give its files, or "
                           "leave it out)")
    names = list(gazetteers) + [f"tag:{g}" for g in grammemes]
    return Model(
        "lexicon_features",
        _forward,
        init=_init,
        dims={"nO": len(names)},
        attrs={
            "feature_names": names,
            "gazetteer_files": {name: list(files) for name, files in gazetteers.items()},
            "directory": directory,
            "grammemes": list(grammemes),
            "morphology": morphology,
            "lang": lang,
            "entries": None,  # {feature name: sorted words}, filled by initialize
            "context_free": True,  # a function of the word alone (see unique_words)
        },
    )


def load_gazetteers(directory: Path, gazetteer_files: Dict[str, List[str]]) -> Dict[str, List[str]]:
    """``{feature name: sorted words}`` of the word lists (paths relative to
    ``directory``); a missing folder or list, or one that is not UTF-8 text, is an
    :class:`InputError` naming it."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise InputError("is a file, expected the folder of the word lists", directory)
    entries = {}
    for name, files in gazetteer_files.items():
        words = set()
        for file_name in files:
            path = directory / file_name
            if file_kind(path):
                raise not_a_regular_file(path)
            if not path.is_file():
                found = "is a folder" if path.is_dir() else "not found"
                raise InputError(f"word list of gazetteer '{name}' {found} (make the lists with "
                                 f"build-lexicons, or leave '{name}' out)", path)
            words.update(read_word_list(path))
        entries[name] = sorted(words)
    return entries


def _init(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    """Read the word lists (:func:`load_gazetteers`); a bad one is a config error naming
    it (``spacy train`` prints it without a traceback)."""
    try:
        model.attrs["entries"] = load_gazetteers(model.attrs["directory"], model.attrs["gazetteer_files"])
    except InputError as err:
        raise config_error(ARCH, "gazetteers", f"{ARCH}: {err}") from None


class WordLookup:
    """Feature indices per word string for the word lists it was built from, memoised
    for the most recently seen ``max_words`` words (bounded, thread-safe)."""

    def __init__(self, model: Model, max_words: int) -> None:
        entries = model.attrs["entries"]
        if entries is None:
            raise ValueError("LexiconFeatures: the layer is not initialized (no word lists loaded).")
        self.sets: List[Tuple[int, FrozenSet[str]]] = [
            (i, frozenset(entries[name])) for i, name in enumerate(model.attrs["gazetteer_files"])
        ]
        offset = len(self.sets)
        self.grammemes = [(offset + i, g) for i, g in enumerate(model.attrs["grammemes"])]
        self.parse = _load_analyzer(model.attrs["morphology"], model.attrs["lang"])
        self.cache = LRUCache(max_words)

    def __call__(self, words: List[str]) -> List[List[int]]:
        """The feature indices of each word."""
        found = self.cache.get_many(words)
        missing = [i for i, features in enumerate(found) if features is None]
        for i in missing:
            found[i] = self._features(words[i])
        self.cache.put_many([words[i] for i in missing], [found[i] for i in missing])
        return found

    def _features(self, word: str) -> List[int]:
        forms = {word.lower()}
        tags = set()
        if self.parse is not None:
            for parse in self.parse(word):
                forms.add(parse.normal_form)
                tags.update(parse.tag.grammemes)
        found = [i for i, words in self.sets if not forms.isdisjoint(words)]
        return found + [i for i, grammeme in self.grammemes if grammeme in tags]


def _forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    """One lookup per distinct word of the batch; rows gathered per token."""
    # built again for other word lists (e.g. loaded by from_bytes); not pickled
    lookup = transient(model, "_lookup", model.attrs["entries"], lambda: WordLookup(model, LOOKUP_CACHE_WORDS))
    n_features = model.get_dim("nO")
    unique, inverse = unique_keys(docs)
    table = numpy.zeros((len(unique), n_features), dtype="float32")
    strings = docs[0].vocab.strings if docs else None
    found = lookup([strings[orth] for orth in unique.tolist()])
    rows = numpy.repeat(numpy.arange(len(found)), [len(features) for features in found])
    table[rows, [i for features in found for i in features]] = 1.0
    features = model.ops.asarray2f(table[inverse])
    outputs = model.ops.unflatten(features, [len(doc) for doc in docs]) if docs else []
    return outputs, no_gradient
