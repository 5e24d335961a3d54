"""ner-uk 2.0 (``v2.0/data/{bruk,ng}/ID.txt|.ann`` + ``v2.0/data/dev-test-split.txt``)
-> spaCy Docs, with the brat machinery of :mod:`.brat`.

* Text: tokenized (a sentence per line) but some punctuation stays attached
  (``«Назва»``, ``Києві.``, ``2011-2012``), so each line is split further by spaCy's
  tokenizer; the 2.0 annotations then almost all fall on token boundaries (the few
  others are expanded to the tokens they touch, reported).
* ``.ann``: ``T<n>\\tLABEL\\tSTART\\tEND\\tSURFACE``; a surface running onto the next
  physical line (an entity crossing a line break) is joined, and the lines it joins stay
  one sentence (a name does not cross a sentence start; reported as a note). A surface
  that does not match the text at its offsets, offsets outside the text, a label that
  is not one of the 13 of :data:`LABELS` (``LCO``, ``loc``), a split file naming a
  missing document: :class:`ConversionError` naming file and line (the ``.ann`` lines
  are skipped and reported with ``skip_malformed``). An ID in both ``bruk/`` and ``ng/``
  is an error naming both files. A document whose text has no tokens is skipped and
  reported, as in 1.0.
* Nested entities: ``doc.ents`` gets one layer (``layer="outer"``, the default, or
  ``"inner"``); every entity, nested ones included, is in ``doc.spans["ner-uk"]``; each
  entity left out of ``doc.ents`` is reported (``nested``/``overlap``/``duplicate``).
* ``label_map`` (e.g. :data:`V1_LABEL_MAP`, the 4-type scheme of 1.0): renamed
  entities are counted, entities mapped to ``""`` are reported as dropped.
* Each Doc's ``user_data`` holds ``name`` (the ID) and ``source`` (``bruk`` / ``ng``).
* Split: as 1.0, ``DEV`` -> ``train`` + a seeded document-level ``dev`` hold-out
  (:func:`.brat.split_dev`), ``TEST`` -> ``test``.
"""
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import spacy
from spacy.tokens import Doc

from .brat import brat_tok_to_doc, empty_document, read_split_file, split_dev
from ..errors import InputError
from .report import ConversionError, ConversionReport, PathLike

VERSION_DIR = "v2.0"
SOURCES = ("bruk", "ng")
SPANS_KEY = "ner-uk"
LABELS = ("ART", "DATE", "DOC", "JOB", "LOC", "MISC", "MON", "ORG", "PCT", "PERIOD", "PERS",
          "QUANT", "TIME")
#: 2.0 -> the 4 types of 1.0: ART and DOC were MISC in 1.0; the types 1.0 does not
#: annotate are dropped.
V1_LABEL_MAP: Dict[str, str] = {"ART": "MISC", "DOC": "MISC", "DATE": "", "JOB": "",
                                "MON": "", "PCT": "", "PERIOD": "", "QUANT": "", "TIME": ""}


def parse_label_map(value: Optional[str]) -> Optional[Dict[str, str]]:
    """``"ART=MISC,DOC=MISC,DATE="`` -> ``{"ART": "MISC", "DOC": "MISC", "DATE": ""}``
    (an empty target drops the label); ``"1.0"``: :data:`V1_LABEL_MAP`. ``ValueError``
    on a malformed item or a label mapped twice."""
    if value is None or not value.strip():
        return None
    if value.strip() == "1.0":
        return dict(V1_LABEL_MAP)
    out: Dict[str, str] = {}
    for item in value.split(","):
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or " " in new.strip():
            raise ValueError(f"expected LABEL=NEW or LABEL= (drop), got {item!r}")
        old, new = old.strip(), new.strip()
        if old in out:
            raise ValueError(f"{old!r} is mapped twice ({old}={out[old]}, {old}={new}): "
                             "map each label once")
        out[old] = new
    return out


def find_v2_dir(path: PathLike) -> Path:
    """The folder holding ``data/dev-test-split.txt``: ``path`` or ``path/v2.0``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such folder: {path}")
    for candidate in (path, path / VERSION_DIR):
        if (candidate / "data" / "dev-test-split.txt").is_file():
            return candidate
    raise FileNotFoundError(f"{path}: neither it nor {path / VERSION_DIR} holds "
                            f"data/dev-test-split.txt")


def document_sources(data_dir: Path) -> Dict[str, str]:
    """``{ID: source}`` of the ``ID.txt`` files in ``data_dir/{bruk,ng}``. An ID with
    files in both sources is an :class:`InputError` naming both (which one is meant?)."""
    out: Dict[str, str] = {}
    found: Dict[str, Path] = {}
    for source in SOURCES:
        folder = data_dir / source
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix not in (".txt", ".ann"):
                continue
            first = found.setdefault(path.stem, path)
            if first.parent != path.parent:
                raise InputError(f"document {path.stem!r} is in two sources: also {path}", first)
            if path.suffix == ".txt":
                out[path.stem] = source
    return out


def _missing_files(data_dir: Path, name: str) -> str:
    """What is missing of document ``name`` in ``data_dir/{bruk,ng}``, and what is there."""
    present = [data_dir / s / f"{name}{x}" for s in SOURCES for x in (".txt", ".ann")
               if (data_dir / s / f"{name}{x}").is_file()]
    if not present:
        return f"has no .txt and .ann files in {data_dir}/{{{','.join(SOURCES)}}}"
    missing = ".ann" if present[0].suffix == ".txt" else ".txt"
    return f"has no {missing} file beside {present[0]}"


def v2_split_names(root: Path, split_file: Optional[PathLike] = None, dev_fraction: float = 0.1,
                   seed: int = 0) -> Dict[str, List[str]]:
    """``{"train": [...], "dev": [...], "test": [...]}`` document IDs of the split file
    (default ``root/data/dev-test-split.txt``); a name without ``.txt`` and ``.ann``
    files is a :class:`ConversionError` naming the split file's line."""
    split_path = Path(split_file) if split_file is not None \
        else root / "data" / "dev-test-split.txt"
    if not split_path.is_file():
        raise FileNotFoundError(f"no such file: {split_path}")
    lines: Dict[str, int] = {}
    sections = read_split_file(split_path, lines)
    sources = document_sources(root / "data")
    for name, line in lines.items():
        source = sources.get(name)
        if source is None or not (root / "data" / source / f"{name}.ann").is_file():
            raise ConversionError(f"document {name!r} {_missing_files(root / 'data', name)}",
                                  split_path, line)
    train, dev = split_dev(sections.get("DEV", []) + sections.get("TRAIN", []),
                           dev_fraction, seed)
    return {"train": train, "dev": dev, "test": sections.get("TEST", [])}


def read_v2_doc(root: Path, name: str, source: str, nlp, report: ConversionReport,
                skip_malformed: bool = False, layer: str = "outer",
                label_map: Optional[Dict[str, str]] = None) -> Doc:
    """One 2.0 document as a Doc (see the module docstring)."""
    folder = root / "data" / source
    doc = brat_tok_to_doc(folder / f"{name}.txt", folder / f"{name}.ann", nlp.vocab, report,
                          skip_malformed, tokenizer=nlp.tokenizer, layer=layer,
                          spans_key=SPANS_KEY, label_map=label_map, strict_surface=True,
                          join_sentences=True, labels=LABELS)
    doc.user_data["source"] = source
    return doc


def load_ner_uk_v2(path: PathLike, dev_fraction: float = 0.1, seed: int = 0,
                   max_docs: Optional[int] = None, lang: str = "uk",
                   skip_malformed: bool = False, report: Optional[ConversionReport] = None,
                   split_file: Optional[PathLike] = None, layer: str = "outer",
                   label_map: Optional[Dict[str, str]] = None,
                   sources: Sequence[str] = SOURCES,
                   splits: Sequence[str] = ("train", "dev", "test")) -> Dict[str, List[Doc]]:
    """``{split: [Doc, ...]}`` of ner-uk 2.0 at ``path`` (the folder with ``v2.0/`` or
    ``v2.0`` itself), only documents of ``sources``; ``max_docs`` keeps the first N
    names of each split (after the dev hold-out); a document whose text has no tokens is
    skipped and reported."""
    unknown = sorted(set(label_map or ()) - set(LABELS))
    if unknown:
        raise InputError(f"the label map names {', '.join(map(repr, unknown))}, not a label of "
                         f"ner-uk 2.0 ({', '.join(LABELS)})")
    root = find_v2_dir(path)
    report = report if report is not None else ConversionReport()
    names = v2_split_names(root, split_file, dev_fraction, seed)
    doc_sources = document_sources(root / "data")
    nlp = spacy.blank(lang)
    out: Dict[str, List[Doc]] = {}
    for split in splits:
        chosen = [n for n in names[split] if doc_sources[n] in sources][:max_docs]
        folders = {name: root / "data" / doc_sources[name] for name in chosen}
        out[split] = [read_v2_doc(root, name, doc_sources[name], nlp, report, skip_malformed,
                                  layer, label_map) for name in chosen
                      if not empty_document(folders[name] / f"{name}.txt",
                                            folders[name] / f"{name}.ann", split, report)]
    return out
