"""Shared fixtures: a tiny Ukrainian NER training set, a small, fast model config, and
the location of the ner-uk corpus (the one place tests take it from)."""
import os
import random
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy
import pytest
import spacy
import torch
from spacy.language import Language
from spacy.training import Example

TRAIN_DATA: List[Tuple[str, List[Tuple[int, int, str]]]] = [
    ("Тарас Шевченко народився в Моринцях .", [(0, 14, "PERS"), (27, 35, "LOC")]),
    ("Київ є столицею України .", [(0, 4, "LOC"), (16, 23, "LOC")]),
    ("Олена Пчілка працювала в Академії наук .", [(0, 12, "PERS"), (25, 38, "ORG")]),
    ("Фільм Тіні забутих предків зняв Сергій Параджанов .",
     [(6, 26, "MISC"), (32, 49, "PERS")]),
    ("Верховна Рада ухвалила закон .", [(0, 13, "ORG")]),
    ("Вчора у Львові пройшов концерт .", [(8, 14, "LOC")]),
]

SMALL_MODEL = {
    "hidden_width": 32,
    "dropout": 0.1,
    "tok2vec": {
        "@architectures": "spacy_rnn_ner.TokenFeatures.v1",
        "width": 32,
        "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
        "rows": [500, 200, 200, 50],
        "include_static_vectors": False,
        "char_encoder": {
            "@architectures": "spacy_rnn_ner.CharCNN.v1",
            "width": 16,
            "embed_width": 8,
            "window": 1,
            "max_chars": 12,
            "n_rows": 512,
            "dropout": 0.1,
        },
    },
}


def _find_ner_uk() -> Path:
    """``$NER_UK_DIR``, else ``shared/ner-uk`` in the first folder above the checkout
    that has one (a git worktree sits deeper than the main checkout)."""
    if os.environ.get("NER_UK_DIR"):
        return Path(os.environ["NER_UK_DIR"])
    checkout = Path(__file__).resolve().parent.parent
    for folder in checkout.parents:
        if (folder / "shared" / "ner-uk").is_dir():
            return folder / "shared" / "ner-uk"
    return checkout.parent / "shared" / "ner-uk"


#: the ner-uk corpus (``v1.0/``, ``v2.0/``); for ``skipif`` at import time. Tests take it
#: from here or from the ``ner_uk_dir`` fixture, never from a path of their own.
NER_UK_DIR = _find_ner_uk()


@pytest.fixture(scope="session")
def ner_uk_dir() -> Path:
    """The ner-uk corpus; the test is skipped when it is not there (set ``NER_UK_DIR``)."""
    if not (NER_UK_DIR / "v1.0").is_dir():
        pytest.skip(f"ner-uk not found at {NER_UK_DIR} (set NER_UK_DIR)")
    return NER_UK_DIR


def make_examples(nlp: Language, data=TRAIN_DATA) -> List[Example]:
    return [Example.from_dict(nlp.make_doc(text), {"entities": ents}) for text, ents in data]


def seed_everything(seed: int = 0) -> None:
    random.seed(seed)
    numpy.random.seed(seed)
    torch.manual_seed(seed)
    spacy.util.fix_random_seed(seed)


def build_nlp(rnn_type: str = "lstm", **component_config) -> Language:
    seed_everything()
    nlp = spacy.blank("uk")
    model = dict(SMALL_MODEL, rnn_type=rnn_type)
    nlp.add_pipe("rnn_ner", config={"model": model, **component_config})
    return nlp


def train_nlp(rnn_type: str = "lstm", n_iter: int = 60, data=TRAIN_DATA, **component_config) -> Language:
    """A pipeline overfitted on ``data``."""
    nlp = build_nlp(rnn_type, **component_config)
    examples = make_examples(nlp, data)
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    for _ in range(n_iter):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    return nlp


def ents_of(doc) -> List[Tuple[str, str]]:
    return [(ent.text, ent.label_) for ent in doc.ents]


@pytest.fixture(scope="session")
def trained_lstm() -> Language:
    return train_nlp("lstm")


SHIPPED_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "rnn_ner.cfg"


def make_shipped_resources(directory: Path) -> Dict[str, str]:
    """Tiny stand-ins for the resources ``configs/rnn_ner.cfg`` reads: a floret vectors
    table (a pipeline folder, as ``init-vectors`` writes it) and every word list it names.
    Returns the ``paths`` overrides that point the config at them."""
    from spacy.vectors import Vectors

    config = spacy.util.load_config(SHIPPED_CONFIG, interpolate=False)
    vectors_nlp = spacy.blank("uk")
    rng = numpy.random.default_rng(0)
    vectors_nlp.vocab.vectors = Vectors(
        strings=vectors_nlp.vocab.strings, data=rng.normal(size=(64, 12)).astype("f"), mode="floret",
        minn=3, maxn=5, hash_count=2,
    )
    directory.mkdir(parents=True, exist_ok=True)
    vectors_nlp.to_disk(directory / "vectors")
    lexicons = directory / "lexicons"
    lexicons.mkdir(parents=True, exist_ok=True)
    words = ["тарас", "олена", "шевченко", "київ", "україна", "львів", "рада"]
    gazetteers = config["components"]["rnn_ner"]["model"]["tok2vec"]["extra_features"]["gazetteers"]
    for i, files in enumerate(gazetteers.values()):
        for name in files:
            (lexicons / name).write_text("\n".join(words[i % 3 :: 2]) + "\n", encoding="utf8")
    return {"paths.vectors": str(directory / "vectors"), "paths.lexicon": str(lexicons)}


def shipped_nlp(directory: Path, overrides: Optional[Dict[str, object]] = None) -> Language:
    """``configs/rnn_ner.cfg`` as shipped (floret vectors, word lists, char CNN, CRF,
    sentencizer), with tiny resources made in ``directory`` and config ``overrides``
    (dotted keys); not initialized."""
    settings = dict(make_shipped_resources(directory), **(overrides or {}))
    config = spacy.util.load_config(SHIPPED_CONFIG, overrides=settings, interpolate=False)
    seed_everything()
    return spacy.util.load_model_from_config(config, auto_fill=True, validate=True)


def train_shipped(nlp: Language, n_iter: int, learn_rate: float = 0.01, drop: float = 0.0) -> List[float]:
    """Initialize ``nlp`` (with its [initialize] block: vectors, word lists) on
    TRAIN_DATA and update it ``n_iter`` times; the losses."""
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = learn_rate
    return [nlp.update(examples, sgd=optimizer, drop=drop)["rnn_ner"] for _ in range(n_iter)]
