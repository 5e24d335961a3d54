"""Hugging Face ``datasets`` token-classification data -> spaCy Docs / DocBin.

Rows hold a list of tokens (``tokens``) and IOB tags (``ner_tags``): integers named by a
``ClassLabel`` feature (``conll2003``, ``benjamin/ner-uk``), or plain strings. Each row is
a sentence; ``n_sents`` consecutive rows make one Doc (default 1).

Sources (:func:`load_hf`): a ``Dataset``/``DatasetDict`` object; a folder written by
``save_to_disk``; parquet / json / jsonl / csv files or a folder of them (the split is the
file name up to the first ``-``, e.g. ``train-00000-of-00001.parquet`` -> ``train``); or a
Hub name such as ``conll2003`` (needs internet).

A malformed row (different numbers of tokens and tags, an empty token, a tag id outside
the label list, an invalid tag) is a :class:`ConversionError` naming the dataset split
and row, or with ``skip_malformed`` is skipped and counted. A split without rows is
noted; a dataset without any sentence is an error.

Needs the optional ``datasets`` package (``pip install 'spacy-rnn-ner[hf]'``) to load
data; :func:`hf_to_docs` works on any iterable of rows.
"""
import numbers
import re
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Union

from spacy.tokens import Doc
from spacy.vocab import Vocab

from .conll import Sentence, check_tag, group_sentences
from ..errors import import_optional
from ..io import check_utf8_file
from .report import ConversionError, ConversionReport, PathLike, write_docbin

DEFAULT_SPLIT_MAP = {"train": "train", "validation": "dev", "valid": "dev", "dev": "dev",
                     "test": "test"}
DATA_FILE_TYPES = {".parquet": "parquet", ".json": "json", ".jsonl": "json", ".csv": "csv",
                   ".arrow": "arrow"}
_HUB_ID_RE = re.compile(r"^[\w][\w.-]*(/[\w.-]+)?$")


def import_datasets() -> Any:
    """The ``datasets`` module, or :class:`MissingDependency` naming the ``hf`` extra."""
    return import_optional("datasets", "hf", "converting Hugging Face datasets")


def load_hf(source: Union[str, Path, Any], cache_dir: Optional[PathLike] = None) -> Any:
    """A ``DatasetDict`` or ``Dataset`` from ``source`` (see module docstring). A path that
    does not exist and is not a Hub name raises :class:`FileNotFoundError`."""
    datasets = import_datasets()

    if isinstance(source, (datasets.Dataset, datasets.DatasetDict)):
        return source
    path = Path(source)
    cache = None if cache_dir is None else str(cache_dir)
    if path.exists():
        if path.is_dir() and ((path / "dataset_dict.json").is_file()
                              or (path / "state.json").is_file()):
            return _load_local(datasets.load_from_disk, path, str(path))
        if path.is_file() and path.stat().st_size == 0:
            raise ConversionError("is empty", path)
        files = [path] if path.is_file() else sorted(
            p for p in path.rglob("*") if p.suffix in DATA_FILE_TYPES)
        kinds = {DATA_FILE_TYPES.get(p.suffix) for p in files}
        if not files or None in kinds or len(kinds) != 1:
            raise ConversionError("not a saved dataset (save_to_disk folder) nor parquet/json/"
                                  "csv files of a single kind", path)
        if kinds == {"json"} or kinds == {"csv"}:
            for p in files:  # text files: UTF-8 (datasets' own error would not say so)
                check_utf8_file(p)
        data_files: Dict[str, List[str]] = {}
        for p in files:
            data_files.setdefault(p.name.split(".")[0].split("-")[0], []).append(str(p))
        return _load_local(datasets.load_dataset, path, kinds.pop(), data_files=data_files,
                           cache_dir=cache)
    if not _HUB_ID_RE.match(str(source)):
        raise FileNotFoundError(f"no such file or folder: {source}")
    try:
        return datasets.load_dataset(str(source), cache_dir=cache)
    except Exception as err:  # network, missing dataset, ...
        raise ConversionError(f"no local path {str(source)!r} and loading it from the "
                              f"Hugging Face Hub failed: {type(err).__name__}: {err}") from err


def _load_local(load: Any, path: Path, *args: Any, **kwargs: Any) -> Any:
    """``load(*args, **kwargs)`` for the local ``path``; a file ``datasets`` cannot read
    (bad JSON, damaged parquet...) is a :class:`ConversionError` naming it."""
    try:
        return load(*args, **kwargs)
    except Exception as err:
        reason = " ".join(str(err).split())[:300]
        raise ConversionError(f"cannot be read as a dataset ({type(err).__name__}: {reason})",
                              path) from err


def tag_names_of(dataset: Any, tags_column: str = "ner_tags") -> Optional[List[str]]:
    """The ``ClassLabel`` names of ``tags_column`` (a list feature of ClassLabel), or
    ``None`` when the tags are not ClassLabel."""
    feature = dataset.features.get(tags_column) if dataset.features else None
    inner = getattr(feature, "feature", None)
    names = getattr(inner, "names", None)
    return list(names) if names else None


def hf_to_docs(dataset: Iterable[Dict[str, Any]], vocab: Vocab, tokens_column: str = "tokens",
               tags_column: str = "ner_tags", tag_names: Optional[Sequence[str]] = None,
               n_sents: int = 1, report: Optional[ConversionReport] = None,
               skip_malformed: bool = False, source: str = "dataset") -> List[Doc]:
    """Docs from rows of ``dataset`` (one split). Integer tags are mapped through
    ``tag_names`` (default: the ClassLabel names); string tags are used as they are, and
    must be among ``tag_names`` when there are names.
    ``source`` names the split in messages and ``doc.user_data["name"]``."""
    report = report if report is not None else ConversionReport(source)
    if tag_names is None and hasattr(dataset, "features"):
        tag_names = tag_names_of(dataset, tags_column)
    columns = getattr(dataset, "column_names", None)
    if columns is not None:
        missing = [c for c in (tokens_column, tags_column) if c not in columns]
        if missing:
            raise ConversionError(f"no column(s) {missing}; columns are {columns}", source)
    return group_sentences(_hf_sentences(dataset, tokens_column, tags_column, tag_names,
                                         report, skip_malformed, source),
                           vocab, n_sents, report, source)


def _hf_sentences(dataset: Iterable[Dict[str, Any]], tokens_column: str, tags_column: str,
                  tag_names: Optional[Sequence[str]], report: ConversionReport,
                  skip_malformed: bool, source: str) -> Iterator[Sentence]:
    """``(words, tags)`` per row of ``dataset``; malformed rows raise or are skipped."""
    for row_no, row in enumerate(dataset):
        try:
            words, raw_tags = _as_list(row[tokens_column], "tokens"), _as_list(row[tags_column], "tags")
            tags = _row_tags(words, raw_tags, tag_names)
        except ValueError as err:
            report.malformed(f"row {row_no}: {err}", source, row_no, skip_malformed)
            continue
        yield words, tags


def _as_list(value: Any, what: str) -> List[Any]:
    """A list column's value; a string (it would be read character by character) or a
    scalar is a ``ValueError``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValueError(f"the {what} are {type(value).__name__}, not a list")
    return list(value)


def _row_tags(words: List[Any], raw_tags: List[Any],
              tag_names: Optional[Sequence[str]]) -> List[str]:
    if len(words) != len(raw_tags):
        raise ValueError(f"{len(words)} tokens but {len(raw_tags)} tags")
    for w in words:
        if not isinstance(w, str) or not w:
            raise ValueError(f"invalid token {w!r}")
    tags: List[str] = []
    for position, tag in enumerate(raw_tags):
        if isinstance(tag, str):
            if tag_names is not None and tag not in tag_names:  # the names would be ignored
                shown = ", ".join(tag_names[:12]) + (", ..." if len(tag_names) > 12 else "")
                raise ValueError(f"tag {position} is {tag!r}, which is not among the tag names "
                                 f"({shown}; from --tag-names or the ClassLabel)")
            name = tag
        elif tag is None:
            raise ValueError(f"tag {position} is null (a missing value): every token needs a tag")
        elif isinstance(tag, bool) or not isinstance(tag, numbers.Integral):
            raise ValueError(f"tag {position} is {tag!r} ({type(tag).__name__}): expected a tag "
                             "name (str) or an integer tag id")
        elif tag_names is None:
            raise ValueError(f"integer tag {tag!r} but no tag names (no ClassLabel feature; "
                             f"give them with --tag-names)")
        elif not 0 <= int(tag) < len(tag_names):
            raise ValueError(f"tag id {tag} outside the {len(tag_names)} tag names")
        else:
            name = tag_names[int(tag)]
        tags.append(check_tag(name))
    return tags


def parse_split_map(text: Optional[str]) -> Dict[str, str]:
    """``"train=train,validation=dev"`` -> dict. ``name=`` (empty) leaves a split out."""
    if not text:
        return dict(DEFAULT_SPLIT_MAP)
    out: Dict[str, str] = {}
    for item in text.split(","):
        if "=" not in item:
            raise ValueError(f"--split-map item {item!r} is not SOURCE=TARGET")
        src, dst = (x.strip() for x in item.split("=", 1))
        if dst and (dst in (".", "..") or any(c in dst for c in "/\\\0")):
            raise ValueError(f"--split-map target {dst!r} must be a plain file name (no "
                             "folder): it names OUT_DIR/TARGET.spacy")
        if src in out:
            raise ValueError(f"--split-map maps {src!r} twice ({src}={out[src]}, {src}={dst}): "
                             "map each split once")
        out[src] = dst
    return out


def convert_hf(source: Union[str, Path, Any], out_dir: PathLike,
               split_map: Optional[Dict[str, str]] = None, lang: str = "xx",
               tokens_column: str = "tokens", tags_column: str = "ner_tags",
               tag_names: Optional[Sequence[str]] = None, n_sents: int = 1,
               skip_malformed: bool = False,
               cache_dir: Optional[PathLike] = None) -> ConversionReport:
    """Write each split of ``source`` to ``out_dir/<target>.spacy``, the target from
    ``split_map`` (default :data:`DEFAULT_SPLIT_MAP`; unmapped splits keep their name,
    several splits mapped to one target are concatenated; a split that a given
    ``split_map`` names but the dataset lacks is a :class:`ConversionError`). A single ``Dataset`` is the
    split ``train``. Returns the report."""
    import spacy

    datasets = import_datasets()
    name = source if isinstance(source, (str, Path)) else type(source).__name__
    report = ConversionReport(f"Hugging Face dataset {name}")
    data = load_hf(source, cache_dir)
    if isinstance(data, datasets.Dataset):
        data = datasets.DatasetDict({"train": data})
    if split_map is not None:  # given by the user: every split it names must exist
        unknown = [split for split in split_map if split not in data]
        if unknown:
            raise ConversionError(f"--split-map names split(s) {', '.join(map(repr, unknown))} that "
                                  f"the dataset does not have (its splits: {', '.join(data)})",
                                  str(name))
    split_map = dict(DEFAULT_SPLIT_MAP if split_map is None else split_map)
    vocab = spacy.blank(lang).vocab
    outputs: Dict[str, List[Doc]] = {}
    for split, dataset in data.items():
        target = split_map.get(split, split)
        if not target:
            report.issue("note", "split left out", f"split {split!r} not converted "
                         f"({len(dataset):,} rows)", str(name))
            continue
        if len(dataset) == 0:
            report.issue("note", "empty split", f"split {split!r} has no rows", str(name))
        outputs.setdefault(target, []).extend(hf_to_docs(
            dataset, vocab, tokens_column, tags_column, tag_names, n_sents, report,
            skip_malformed, source=f"{name}[{split}]"))
    if not any(outputs.values()):
        raise ConversionError("no sentences found in any converted split", str(name))
    for target, docs in outputs.items():
        write_docbin(docs, Path(out_dir) / f"{target}.spacy", report, target)
    return report
