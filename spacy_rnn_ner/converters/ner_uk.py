"""ner-uk, either version -> spaCy Docs / DocBin: ``version="1.0"`` (:mod:`.brat`) or
``"2.0"`` (:mod:`.ner_uk_v2`), 1.0 with 2.0 documents added to its training data, and
the text files of each version's TEST and other documents (for pretraining text)."""
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from spacy.tokens import Doc

from ..errors import InputError
from . import ner_uk_v2
from .brat import SPLIT_FILE, SPLITS, find_ner_uk_dir, load_ner_uk_v1, read_split_file
from .report import ConversionReport, PathLike, write_docbin

VERSIONS = ("1.0", "2.0")


def load_ner_uk(path: PathLike, variant: str = "tok", dev_fraction: float = 0.1,
                seed: int = 0, max_docs: Optional[int] = None, lang: str = "uk",
                skip_malformed: bool = False, report: Optional[ConversionReport] = None,
                split_file: Optional[PathLike] = None, version: str = "1.0",
                layer: str = "outer", label_map: Optional[Dict[str, str]] = None,
                extra_train: Sequence[str] = (),
                extra_dev_fraction: float = 0.0) -> Dict[str, List[Doc]]:
    """``{"train": [...], "dev": [...], "test": [...]}`` Docs of the ner-uk corpus at
    ``path`` (the folder with ``v1.0/`` and/or ``v2.0/``, or one of them). ``max_docs``
    keeps the first N names of each split (after the dev hold-out). Fills ``report``
    (read counts and issues; written counts come from :func:`convert_ner_uk`).

    ``version="2.0"``: :func:`.ner_uk_v2.load_ner_uk_v2` (``layer``, ``label_map``).
    ``version="1.0"`` with ``extra_train`` (2.0 sources, only ``"ng"``: the ``bruk``
    documents are 1.0's): the 2.0 DEV documents of those sources, in 1.0's scheme
    (``label_map``, default :data:`.ner_uk_v2.V1_LABEL_MAP`), are added to train, a
    seeded ``extra_dev_fraction`` of them to dev; 1.0's own split is unchanged and no
    2.0 TEST document is read."""
    if version not in VERSIONS:
        raise InputError(f"unknown ner-uk version {version!r} (expected "
                         f"{' or '.join(VERSIONS)})")
    if version == "2.0":
        if variant != "tok":
            raise InputError("--variant raw exists for ner-uk 1.0 only")
        if extra_train:
            raise InputError("extra training documents are added to ner-uk 1.0 only")
        return ner_uk_v2.load_ner_uk_v2(path, dev_fraction, seed, max_docs, lang,
                                        skip_malformed, report, split_file, layer, label_map)
    if not extra_train:
        given = [name for name, value in (("--label-map", label_map), ("--nested inner",
                 layer != "outer"), ("--extra-dev-fraction", extra_dev_fraction)) if value]
        if given:
            raise InputError(f"{given[0]} applies to ner-uk 2.0 documents: use it with "
                             f"--version 2.0 or --extra-train v2.0:ng")
    bad = [s for s in extra_train if s != "ng"]
    if bad:
        raise InputError(f"extra training source {bad[0]!r} not allowed: only 'ng' (2.0's "
                         f"'bruk' documents are the 1.0 documents)")
    report = report if report is not None else ConversionReport()
    out = load_ner_uk_v1(path, variant, dev_fraction, seed, max_docs, lang,
                          skip_malformed, report, split_file)
    if extra_train:
        extra = ner_uk_v2.load_ner_uk_v2(
            Path(path).parent if Path(path).name == "v1.0" else path, extra_dev_fraction,
            seed, max_docs, lang, skip_malformed, report, None, layer,
            label_map if label_map is not None else ner_uk_v2.V1_LABEL_MAP,
            sources=tuple(extra_train), splits=("train", "dev"))
        out["train"] += extra["train"]
        out["dev"] += extra["dev"]
    return out


def ner_uk_text_files(path: PathLike, version: str = "1.0"
                      ) -> Tuple[List[Tuple[str, Path]], List[Tuple[str, Path]]]:
    """``(test, other)``: ``(name, text file)`` of the ner-uk documents listed under
    ``TEST`` in the version's split file, and of all other documents, sorted by name.
    1.0: ``data/NAME.txt`` (raw), else ``data/NAME.tok.txt``; 2.0: ``data/{bruk,ng}/ID.txt``.
    A TEST document without a text file is an :class:`InputError`."""
    if version == "2.0":
        root = ner_uk_v2.find_v2_dir(path)
        test = read_split_file(root / "data" / SPLIT_FILE).get("TEST", [])
        chosen = {name: root / "data" / source / f"{name}.txt"
                  for name, source in ner_uk_v2.document_sources(root / "data").items()}
    elif version == "1.0":
        root = find_ner_uk_dir(path)
        test = read_split_file(root / SPLIT_FILE).get("TEST", [])
        chosen = {}
        for txt in sorted((root / "data").glob("*.txt")):
            if txt.name.endswith(".tok.txt"):
                chosen.setdefault(txt.name[: -len(".tok.txt")], txt)
            else:
                chosen[txt.stem] = txt
    else:
        raise InputError(f"unknown ner-uk version {version!r} (expected "
                         f"{' or '.join(VERSIONS)})")
    missing = [name for name in test if name not in chosen]
    if missing:
        raise InputError(f"TEST document {missing[0]!r} of the split file has no text file here",
                         root / "data")
    test_set = set(test)
    return ([(name, chosen[name]) for name in sorted(test_set)],
            [(name, chosen[name]) for name in sorted(chosen) if name not in test_set])


def convert_ner_uk(path: PathLike, out_dir: PathLike, variant: str = "tok",
                   dev_fraction: float = 0.1, seed: int = 0, max_docs: Optional[int] = None,
                   lang: str = "uk", skip_malformed: bool = False,
                   split_file: Optional[PathLike] = None, version: str = "1.0",
                   layer: str = "outer", label_map: Optional[Dict[str, str]] = None,
                   extra_train: Sequence[str] = (),
                   extra_dev_fraction: float = 0.0) -> ConversionReport:
    """Convert the corpus to ``out_dir/{train,dev,test}.spacy`` (see :func:`load_ner_uk`)
    and return the report."""
    extra = f" + 2.0 DEV {','.join(extra_train)}" if extra_train else ""
    report = ConversionReport(f"ner-uk {version} ({variant}) from {path}{extra}")
    docs = load_ner_uk(path, variant, dev_fraction, seed, max_docs, lang, skip_malformed,
                       report, split_file, version, layer, label_map, extra_train,
                       extra_dev_fraction)
    for split in SPLITS:
        write_docbin(docs[split], Path(out_dir) / f"{split}.spacy", report, split)
    return report
