"""Word lists for ``LexiconFeatures.v1`` built from packaged dictionaries.

``python -m spacy_rnn_ner build-lexicons OUTPUT_DIR [--sources lingotweaker,pymorphy3,iso-codes]``
writes one file per list into OUTPUT_DIR, one lowercased word form per line (every
inflected form the dictionary gives, and its lemma), sorted, and prints the size of
each list. Lists and where they come from:

* ``first_names``, ``surnames``, ``patronymics``, ``geo``, ``abbr``, ``proper_other``
  (proper names that are none of the others: organisations, brands, events...) from
  ``lingotweaker`` (PyPI ``lingotweaker-data-uk``: LanguageTool's Ukrainian morfologik
  dictionary, LGPL; tags ``:fname``, ``:lname``, ``:pname``/``:patr``, ``:geo``,
  ``:abbr``, ``:prop``);
* ``first_names``, ``surnames``, ``patronymics``, ``abbr`` (and ``geo``/``org`` for
  dictionaries with ``Geox``/``Orgn``) from ``pymorphy3`` (PyPI ``pymorphy3-dicts-uk``);
* ``countries`` (ISO 3166-1 and 3166-3) and ``regions`` (ISO 3166-2) from
  ``iso-codes`` (Debian package ``iso-codes``: the ``uk`` gettext catalogues under
  ``/usr/share/locale``); each word of a name that starts with a capital letter.

A list gets the words of every selected source that provides it. Derived lists
(``--no-derived`` to skip): ``person_geo`` (in a person-name list and in ``geo``),
``geo_not_person``, and with ``lingotweaker`` a ``<list>_strict`` per list, without the
words whose lowercased form is also a dictionary word ("мене", "так": LexiconFeatures
matches lowercased tokens, so these fire on common words).
"""
import struct
from collections import defaultdict
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple, Union
from ..errors import InputError, import_optional
from ..file_kinds import full_lines, head_text, read_head
from ..io import OutputFolder, atomic_folder, check_outputs, file_kind, write_text

PathLike = Union[str, Path]
Entries = Iterator[Tuple[str, str]]  # (list name, word)

#: LanguageTool tag token -> list name (checked in this order; ``prop`` only when
#: no other list took the entry)
LT_TAG_LISTS = (("fname", "first_names"), ("lname", "surnames"), ("pname", "patronymics"),
                ("patr", "patronymics"), ("geo", "geo"), ("abbr", "abbr"))
LT_OTHER_PROPER = ("prop", "proper_other")
#: pymorphy3 grammeme -> list name
PYMORPHY3_GRAMMEMES = {"Name": "first_names", "Surn": "surnames", "Patr": "patronymics",
                       "Abbr": "abbr", "Geox": "geo", "Orgn": "org"}
ISO_DOMAINS = {"iso_3166-1": "countries", "iso_3166-3": "countries", "iso_3166-2": "regions"}
#: the languages of a source's dictionary (lingotweaker: without --lt-dict); iso-codes has
#: a catalogue per language
SOURCE_LANGS = {"lingotweaker": ("uk",), "pymorphy3": ("ru", "uk")}


def lt_lists_for_tag(tag: str) -> List[str]:
    """The lists a LanguageTool tag (``noun:anim:m:v_naz:prop:fname``) puts a word in."""
    tokens = set(tag.split(":"))
    lists = [name for token, name in LT_TAG_LISTS if token in tokens]
    if not lists and LT_OTHER_PROPER[0] in tokens:
        lists.append(LT_OTHER_PROPER[1])
    return sorted(set(lists))


def lingotweaker_dictionary() -> Path:
    """Path of ``ukrainian.dict`` in the installed ``lingotweaker-data-uk``."""
    lingotweaker_data_uk = import_optional("lingotweaker_data_uk", "lexicon-sources",
                                           "the 'lingotweaker' lexicon source", "lingotweaker-data-uk")
    path = Path(lingotweaker_data_uk.data_dir()) / "uk" / "dictionaries" / "ukrainian.dict"
    if not path.exists():
        raise FileNotFoundError(f"lingotweaker-data-uk has no dictionary at {path}")
    return path


def lingotweaker_entries(dict_path: Optional[PathLike] = None) -> Entries:
    """(list, lowercased word) for every form and lemma of the tagged entries of a
    morfologik dictionary (default: lingotweaker-data-uk's ``ukrainian.dict``)."""
    from .morfologik import read_tagged_entries

    wanted = [token for token, _ in LT_TAG_LISTS] + [LT_OTHER_PROPER[0]]
    path = Path(dict_path) if dict_path is not None else lingotweaker_dictionary()
    for form, lemma, tag in read_tagged_entries(path, wanted):
        for name in lt_lists_for_tag(tag):
            yield name, form.lower()
            yield name, lemma.lower()


def pymorphy3_entries(lang: str = "uk", grammemes: Optional[Dict[str, str]] = None) -> Entries:
    """(list, word) for every word of the pymorphy3 dictionary of ``lang`` whose tag has
    one of ``grammemes`` (grammeme -> list name), with its normal form."""
    pymorphy3 = import_optional("pymorphy3", "lexicon-sources", "the 'pymorphy3' lexicon source")
    grammemes = dict(PYMORPHY3_GRAMMEMES if grammemes is None else grammemes)
    dictionary = pymorphy3.MorphAnalyzer(lang=lang).dictionary
    return pymorphy3_dictionary_entries(dictionary, grammemes)


def pymorphy3_dictionary_entries(dictionary, grammemes: Dict[str, str]) -> Entries:
    """The work of :func:`pymorphy3_entries` on a loaded ``pymorphy3`` dictionary: the
    lists of each (paradigm, form) are computed once from the tag table."""
    lists_of_tag: Dict[int, List[str]] = {}
    for tag_id, tag in enumerate(dictionary.gramtab):
        found = sorted({name for g, name in grammemes.items() if g in tag.grammemes})
        if found:
            lists_of_tag[tag_id] = found
    wanted_paradigms = {}
    for para_id, paradigm in enumerate(dictionary.paradigms):
        n_forms = len(paradigm) // 3
        tags = [lists_of_tag.get(paradigm[n_forms + i]) for i in range(n_forms)]
        if any(tags):
            wanted_paradigms[para_id] = tags
    for word, (para_id, index) in dictionary.words.iteritems():
        tags = wanted_paradigms.get(para_id)
        if tags and tags[index]:
            normal = dictionary.build_normal_form(para_id, index, word).lower()
            for name in tags[index]:
                yield name, word.lower()
                yield name, normal


def name_words(name: str) -> List[str]:
    """Lowercased words of a place name that start with a capital letter
    (``"Острови Кука"`` -> ``["острови", "кука"]``, ``"Бонайре, Сінт-Естатіус і Саба"`` ->
    ``["бонайре", "сінт-естатіус", "саба"]``); brackets and punctuation around words are
    dropped."""
    words = []
    for raw in name.replace("(", " ").replace(")", " ").replace("[", " ").replace("]", " ").split():
        word = raw.strip(".,;:!?\"'«»")
        if word and word[0].isupper():
            words.append(word.lower())
    return words


def iso_codes_entries(locale_dir: PathLike = "/usr/share/locale", lang: str = "uk",
                      domains: Optional[Dict[str, str]] = None) -> Entries:
    """(list, word) from the translated names of the iso-codes gettext catalogues
    (``<locale_dir>/<lang>/LC_MESSAGES/<domain>.mo``)."""
    domains = dict(ISO_DOMAINS if domains is None else domains)
    for domain, list_name in domains.items():
        path = Path(locale_dir) / lang / "LC_MESSAGES" / f"{domain}.mo"
        others = sorted(p.parent.parent.name for p in Path(locale_dir).glob(f"*/LC_MESSAGES/{domain}.mo"))
        if not path.exists() and others:
            raise InputError(f"iso-codes has no {domain} catalogue for --lang {lang} (it has "
                             f"{len(others)} languages, e.g. {', '.join(others[:5])})", path)
        if not path.exists():
            raise FileNotFoundError(f"iso-codes catalogue not found: {path} "
                                    "(apt-get install iso-codes, or pass --iso-locale-dir)")
        for msgid, msgstr in read_mo(path).items():
            if msgid:
                for word in name_words(msgstr):
                    yield list_name, word


def read_mo(path: PathLike) -> Dict[str, str]:
    """The translations of a GNU gettext ``.mo`` catalogue (UTF-8), msgid -> msgstr
    (plural forms joined by newlines); the header is the empty msgid. The format:
    a magic number giving the byte order, then the count and the offsets of two tables
    of (length, offset) pairs, one for the originals and one for the translations."""
    data = Path(path).read_bytes()
    magic = struct.unpack("<I", data[:4])[0] if len(data) >= 28 else None
    if magic not in (0x950412DE, 0xDE120495):
        raise InputError("not a GNU gettext .mo file", path)
    order = "<" if magic == 0x950412DE else ">"
    count, originals, translations = struct.unpack(order + "3I", data[8:20])

    def string(table: int, i: int) -> str:
        length, offset = struct.unpack(order + "2I", data[table + 8 * i : table + 8 * i + 8])
        return data[offset : offset + length].decode("utf-8").replace("\0", "\n")

    return {string(originals, i): string(translations, i) for i in range(count)}


SOURCES: Dict[str, Callable[..., Entries]] = {
    "lingotweaker": lingotweaker_entries,
    "pymorphy3": pymorphy3_entries,
    "iso-codes": iso_codes_entries,
}


def collect_lists(entries: Iterable[Tuple[str, str]]) -> Dict[str, Set[str]]:
    """Group (list, word) pairs into sets; blank words are skipped."""
    lists: Dict[str, Set[str]] = defaultdict(set)
    for name, word in entries:
        word = word.strip()
        if word and not any(c.isspace() for c in word):
            lists[name].add(word)
    return dict(lists)


def list_names() -> Set[str]:
    """Every list :func:`build_lexicons` can write (with the derived ones)."""
    names = {name for _, name in LT_TAG_LISTS} | {LT_OTHER_PROPER[1]}
    names |= set(PYMORPHY3_GRAMMEMES.values()) | set(ISO_DOMAINS.values())
    names |= {"person_geo", "geo_not_person"}
    return names | {f"{name}_strict" for name in names}


def is_lexicon_folder(path: Path) -> bool:
    """Whether ``path`` holds only word lists :func:`build_lexicons` writes (an earlier
    output, which a new run replaces as a whole)."""
    return all(is_lexicon_file(entry) for entry in Path(path).iterdir())


def is_lexicon_file(path: Path) -> bool:
    """Whether ``path`` is a word list :func:`build_lexicons` writes: named like one, and
    holding lower-case words, one a line, without spaces (a user's own list or notes under
    such a name is not one)."""
    if path.name not in {f"{name}.txt" for name in list_names()} or not path.is_file():
        return False
    head = read_head(path)
    if head_text(head) is None:
        return False
    return all(len(line.split()) == 1 and line == line.lower() and line == line.strip()
               for line in full_lines(head, path))


def write_lists(lists: Dict[str, Set[str]], output_dir: PathLike) -> Dict[str, int]:
    """Write ``<list>.txt`` (sorted, one word a line; each file atomically) per list;
    returns the sizes."""
    output_dir = Path(output_dir)
    sizes = {}
    for name in sorted(lists):
        words = sorted(lists[name])
        write_text(output_dir / f"{name}.txt", "".join(w + "\n" for w in words))
        sizes[name] = len(words)
    return sizes


def build_lexicons(output_dir: PathLike, sources: Sequence[str] = tuple(SOURCES),
                   lang: str = "uk", iso_locale_dir: PathLike = "/usr/share/locale",
                   lt_dict: Optional[PathLike] = None, derived: bool = True
                   ) -> Dict[str, Dict[str, int]]:
    """Build the lists of ``sources`` (and with ``derived`` those of
    :func:`derive_lists`) into ``output_dir``, which is replaced as a whole (it must be
    new, empty or an earlier output: :func:`is_lexicon_folder`). Returns
    ``{"total": {list: size}, source: {list: size}}``."""
    if not sources:
        raise InputError("no lexicon source given")
    if "iso-codes" in sources and Path(iso_locale_dir).exists() and not Path(iso_locale_dir).is_dir():
        raise InputError(f"--iso-locale-dir {iso_locale_dir}: is {file_kind(iso_locale_dir) or 'a file'}, "
                         "expected the folder holding <lang>/LC_MESSAGES/iso_3166-*.mo")
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise InputError(f"unknown lexicon source(s) {', '.join(unknown)}; "
                         f"valid: {', '.join(SOURCES)}")
    for source, langs in SOURCE_LANGS.items():
        if source in sources and lang not in langs and not (source == "lingotweaker" and lt_dict):
            raise InputError(f"--sources {source}: its dictionary is for {', '.join(langs)}, not "
                             f"--lang {lang}" + (" (or give --lt-dict)" if source == "lingotweaker" else ""))
    check_outputs([], [lt_dict, iso_locale_dir if "iso-codes" in sources else None],
                  folders=[OutputFolder(Path(output_dir), "build-lexicons", is_lexicon_folder,
                                                is_lexicon_file)])
    merged: Dict[str, Set[str]] = defaultdict(set)
    sizes: Dict[str, Dict[str, int]] = {}
    for source in sources:
        if source == "lingotweaker":
            entries = lingotweaker_entries(lt_dict)
        elif source == "pymorphy3":
            entries = pymorphy3_entries(lang)
        else:
            entries = iso_codes_entries(iso_locale_dir, lang)
        lists = collect_lists(entries)
        sizes[source] = {name: len(words) for name, words in sorted(lists.items())}
        for name, words in lists.items():
            merged[name] |= words
    if derived:
        has_common_form = None
        if "lingotweaker" in sources:
            from .morfologik import Automaton, form_checker

            has_common_form = form_checker(Automaton.read(lt_dict or lingotweaker_dictionary()))
        merged.update(derive_lists(merged, has_common_form))
    with atomic_folder(output_dir) as folder:  # the lists of this run, all or none
        sizes["total"] = write_lists(merged, folder)
    return sizes


PERSON_LISTS = ("first_names", "surnames", "patronymics")


def derive_lists(lists: Dict[str, Set[str]], has_common_form: Optional[Callable[[str], bool]] = None
                 ) -> Dict[str, Set[str]]:
    """Lists that separate readings a lowercased token cannot tell apart:

    * ``person_geo``: words both in a person-name list and in ``geo`` (Володимир, Олена);
      ``geo_not_person``: ``geo`` without them;
    * ``<list>_strict`` (when ``has_common_form`` is given: does the lowercased word
      exist as a dictionary form, i.e. a common word such as "мене", "так"?): each list
      without such words.
    """
    persons = set().union(*(lists.get(name, set()) for name in PERSON_LISTS))
    derived: Dict[str, Set[str]] = {}
    if "geo" in lists and persons:
        derived["person_geo"] = lists["geo"] & persons
        derived["geo_not_person"] = lists["geo"] - persons
    if has_common_form is not None:
        base = dict(lists, **derived)
        for name, words in base.items():
            derived[f"{name}_strict"] = {w for w in words if not has_common_form(w)}
    return derived
