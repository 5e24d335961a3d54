"""How well word lists pick out entity tokens of a labelled corpus.

``python -m spacy_rnn_ner lexicon-coverage DATA.spacy NAME=FILE [NAME=FILE ...]
[--grammemes Name,Surn] [--morphology pymorphy3]`` computes the features of
``LexiconFeatures.v1`` (the same layer, so the same matching: lowercased token or
pymorphy3 lemma) on every token of DATA and prints, per feature, how many tokens fire
it, the share of those that carry each gold entity label (precision of "fires" for the
label; ``O`` = outside entities), and the share of each label's tokens that fire it
(recall). ``FILE`` may be a folder: every ``*.txt`` / ``*.lst`` in it, by file stem.
"""
from collections import Counter
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Sequence, Tuple

import numpy
from spacy.tokens import Doc

from ..errors import InputError
from ..io import files_with_suffix
from ..markdown import markdown_table
from ..layers.lexicon_features import lexicon_features_layer, load_gazetteers

OUTSIDE = "O"


def token_labels(doc: Doc) -> List[str]:
    """Gold entity label of each token (``O`` outside entities)."""
    return [token.ent_type_ or OUTSIDE for token in doc]


def coverage(docs: Sequence[Doc], gazetteers: Dict[str, List[str]], grammemes: Sequence[str] = (),
             morphology: str = "pymorphy3", lang: str = "uk",
             warn: Callable[[str], None] = lambda message: None,
             ) -> Tuple[List[str], Counter, Dict[str, Counter]]:
    """``(feature names, tokens per label, {feature: tokens firing it per label})``;
    gazetteer files are absolute paths or relative to the working directory (as given).
    A gazetteer without a word is passed to ``warn`` (its row would read as a list that
    never fires)."""
    layer = lexicon_features_layer(gazetteers, ".", list(grammemes), morphology, lang)
    layer.attrs["entries"] = load_gazetteers(Path("."), gazetteers)  # errors name the file
    for name, words in layer.attrs["entries"].items():
        if not words:
            warn(f"{', '.join(gazetteers[name])}: holds no words (gazetteer '{name}')")
    names = layer.attrs["feature_names"]
    per_label: Counter = Counter()
    fired: Dict[str, Counter] = {name: Counter() for name in names}
    features, _ = layer(list(docs), is_train=False)
    for doc, matrix in zip(docs, features):
        labels = token_labels(doc)
        per_label.update(labels)
        matrix = numpy.asarray(matrix)
        for j, name in enumerate(names):
            for i in numpy.flatnonzero(matrix[:, j]):
                fired[name][labels[i]] += 1
    return names, per_label, fired


def format_coverage(names: Sequence[str], per_label: Counter, fired: Dict[str, Counter]) -> str:
    """Markdown table: tokens firing, precision per label (P), recall per label (R), in %."""
    labels = sorted(label for label in per_label if label != OUTSIDE) + [OUTSIDE]
    head = (["feature", "fires"] + [f"P {label}" for label in labels]
            + [f"R {label}" for label in labels])
    rows = []
    for name in names:
        total = sum(fired[name].values())
        precision = [100.0 * fired[name][label] / total if total else 0.0 for label in labels]
        recall = [100.0 * fired[name][label] / per_label[label] if per_label[label] else 0.0
                  for label in labels]
        rows.append([name, f"{total:,}"] + [f"{x:.1f}" for x in precision + recall])
    counts = ", ".join(f"{label} {per_label[label]:,}" for label in labels)
    return markdown_table(head, rows) + f"\nTokens per gold label: {counts}."


def parse_gazetteer_args(specs: Iterable[str]) -> Dict[str, List[str]]:
    """``NAME=FILE`` or ``FILE`` (name: the file stem) or a folder (its ``*.txt`` and
    ``*.lst`` files, each by stem) -> ``{name: [path]}``."""
    gazetteers: Dict[str, List[str]] = {}
    for spec in specs:
        name, _, path = spec.rpartition("=")
        if not path:
            raise InputError(f"{spec!r}: no word list after '=' (NAME=FILE)")
        path_ = Path(path)
        if not path_.exists():
            raise FileNotFoundError(f"word list not found: {path_}")
        if path_.is_dir():
            files = files_with_suffix(path_, (".txt", ".lst"), recursive=False)
            if not files:
                raise FileNotFoundError(f"no *.txt or *.lst word lists in {path_}")
            for file_ in files:
                gazetteers[f"{name}:{file_.stem}" if name else file_.stem] = [str(file_)]
        else:
            gazetteers.setdefault(name or path_.stem, []).append(str(path_))
    return gazetteers
