"""Word lists from packaged dictionaries: morfologik reader, sources, derived lists."""
import struct
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, List

import pytest

from spacy_rnn_ner.__main__ import main as cli_main

from spacy_rnn_ner.resources.lexicon_sources import (
    build_lexicons, collect_lists, derive_lists, iso_codes_entries, lt_lists_for_tag,
    name_words, pymorphy3_dictionary_entries,
)
from spacy_rnn_ner.resources.morfologik import (
    Automaton, MorfologikError, decode_suffix_entry, form_checker, iter_entries, read_tagged_entries,
)

# FORM + CODE + TAG; CODE = chr(ord("A") + bytes to cut from FORM) + suffix (UTF-8 bytes:
# a Cyrillic letter is 2 bytes)
ENTRIES = [
    "Олена+A+noun:anim:f:v_naz:prop:fname",
    "Олени+Cа+noun:anim:f:v_rod:prop:fname",
    "Олена+A+noun:inanim:f:v_naz:prop:geo",
    "Шевченка+Cо+noun:anim:m:v_rod:prop:lname",
    "Київ+A+noun:inanim:m:v_naz:prop:geo",
    "Києва+Gїв+noun:inanim:m:v_rod:prop:geo",
    "київ+Eй+noun:inanim:p:v_rod",
    "Миколайович+A+noun:anim:m:v_naz:prop:pname",
    "ГО+A+noun:inanim:f:v_naz:nv:abbr",
    "Адідас+A+noun:inanim:m:v_naz:prop",
    "мене+Eя+pron:pers:1:s:v_rod",
    "так+A+adv",
    "пропуск+A+noun:inanim:m:v_naz",  # "prop" is a prefix of a token, not a token
]


def write_cfsa2(path: Path, sequences: List[bytes]) -> None:
    """A (non-minimal) CFSA2 automaton of ``sequences``: a trie; labels '+' and ':' come
    from the label table, the first child of each node follows it (NEXT bit), other
    targets are 3-byte v-ints (0 for a node without arcs)."""
    trie: Dict = {}
    for seq in sequences:
        node = trie
        for i, byte in enumerate(seq):
            child = node.setdefault(byte, [False, {}])
            if i == len(seq) - 1:
                child[0] = True
            node = child[1]
    table = b"\x00+:"

    def arc_size(byte, first_with_next):
        return 1 + (0 if byte in table[1:] else 1) + (0 if first_with_next else 3)

    order, sizes = [], {}

    def layout(node):  # pre-order, first non-empty child right after its parent
        order.append(node)
        kids = [child for _, (_, child) in sorted(node.items()) if child]
        first = id(kids[0]) if kids else None
        sizes[id(node)] = sum(arc_size(b, id(c) == first) for b, (_, c) in node.items())
        for child in kids:
            layout(child)

    layout(trie)
    offsets, offset = {}, 5  # the dummy node at 0: flag, explicit label, 3-byte goto
    for node in order:
        offsets[id(node)] = offset
        offset += sizes[id(node)]

    def vint3(value):
        return bytes([0x80 | (value & 0x7F), 0x80 | ((value >> 7) & 0x7F), value >> 14])

    body = bytearray([0x40, ord("^")]) + vint3(offsets[id(trie)])
    for node in order:
        kids = [child for _, (_, child) in sorted(node.items()) if child]
        first = id(kids[0]) if kids else None
        items = sorted(node.items())
        for n, (byte, (final, child)) in enumerate(items):
            use_next = bool(child) and id(child) == first
            flag = (0x80 if use_next else 0) | (0x40 if n == len(items) - 1 else 0) | (0x20 if final else 0)
            if byte in table[1:]:
                body += bytes([flag | table.index(byte)])
            else:
                body += bytes([flag, byte])
            if not use_next:
                body += vint3(offsets[id(child)] if child else 0)
    assert len(body) == offset
    path.write_bytes(b"\\fsa" + bytes([0xC6]) + struct.pack(">H", 7) + bytes([len(table)]) + table + body)
    path.with_suffix(".info").write_text(
        "fsa.dict.separator=+\nfsa.dict.encoding=utf-8\nfsa.dict.encoder=SUFFIX\n", encoding="utf8")


@pytest.fixture
def lt_dict(tmp_path) -> Path:
    path = tmp_path / "ukrainian.dict"
    write_cfsa2(path, sorted(e.encode("utf8") for e in ENTRIES))
    return path


def test_decode_suffix_entry():
    assert decode_suffix_entry("Олени+Cа+noun".encode()) == ("Олени", "Олена", "noun")
    assert decode_suffix_entry("abc+A+t".encode()) == ("abc", "abc", "t")
    assert decode_suffix_entry(b"abc+" + bytes([(ord("A") + 255) & 0xFF]) + b"xy+t") == ("abc", "xy", "t")
    with pytest.raises(MorfologikError, match="malformed"):
        decode_suffix_entry(b"abc+t")


def test_reader_finds_exactly_the_wanted_tags(lt_dict):
    everything = sorted(read_tagged_entries(lt_dict, ["prop", "abbr", "adv", "pron", "noun"]))
    assert len(everything) == len(ENTRIES)
    found = sorted(read_tagged_entries(lt_dict, ["fname", "abbr"]))
    assert found == [("ГО", "ГО", "noun:inanim:f:v_naz:nv:abbr"),
                     ("Олена", "Олена", "noun:anim:f:v_naz:prop:fname"),
                     ("Олени", "Олена", "noun:anim:f:v_rod:prop:fname")]
    geo = {(form, lemma) for form, lemma, _ in read_tagged_entries(lt_dict, ["geo"])}
    assert geo == {("Олена", "Олена"), ("Київ", "Київ"), ("Києва", "Київ")}
    assert [e[0] for e in read_tagged_entries(lt_dict, ["prop"])
            if e[0] == "пропуск"] == []


def test_reader_rejects_other_files(tmp_path):
    bad = tmp_path / "x.dict"
    bad.write_bytes(b"not an automaton")
    with pytest.raises(MorfologikError, match="no '\\\\fsa' header"):
        Automaton.read(bad)
    bad.write_bytes(b"\\fsa\xc5\x00\x07\x00")
    with pytest.raises(MorfologikError, match="version 0xc5"):
        Automaton.read(bad)


def test_form_checker_is_case_sensitive(lt_dict):
    has_form = form_checker(Automaton.read(lt_dict))
    assert has_form("Київ") and has_form("київ") and has_form("мене")
    assert not has_form("олена") and not has_form("Ки") and not has_form("Києвами")


def test_lt_lists_for_tag():
    assert lt_lists_for_tag("noun:anim:f:v_naz:prop:fname") == ["first_names"]
    assert lt_lists_for_tag("noun:inanim:m:v_naz:prop") == ["proper_other"]
    assert lt_lists_for_tag("noun:inanim:f:v_oru:nv:abbr:prop") == ["abbr"]
    assert lt_lists_for_tag("noun:anim:m:v_dav:prop:pname:arch") == ["patronymics"]
    assert lt_lists_for_tag("noun:inanim:m:v_naz") == []


def test_build_lexicons_from_a_morfologik_dictionary(lt_dict, tmp_path, capsys):
    out = tmp_path / "lexicons"
    sizes = build_lexicons(out, ["lingotweaker"], lt_dict=lt_dict)

    def read(name):
        return (out / f"{name}.txt").read_text(encoding="utf8").splitlines()

    assert read("first_names") == ["олена", "олени"]
    assert read("geo") == ["києва", "київ", "олена"]
    assert read("surnames") == ["шевченка", "шевченко"]
    assert read("patronymics") == ["миколайович"]
    assert read("abbr") == ["го"]
    assert read("proper_other") == ["адідас"]
    assert read("person_geo") == ["олена"]
    assert read("geo_not_person") == ["києва", "київ"]
    assert read("geo_strict") == ["києва", "олена"]  # "київ" is also a common word
    assert sizes["total"]["geo"] == 3 and sizes["lingotweaker"]["first_names"] == 2
    assert cli_main(["build-lexicons", str(tmp_path / "cli"), "--sources", "lingotweaker", "--lt-dict", str(lt_dict),
                 "--no-derived"]) == 0
    assert "| first_names | 2 | 2 |" in capsys.readouterr().out
    assert not (tmp_path / "cli" / "person_geo.txt").exists()
    assert cli_main(["build-lexicons", str(tmp_path / "x"), "--sources", "wordnet"]) == 1
    assert "unknown lexicon source(s) wordnet" in capsys.readouterr().err


def test_build_lexicons_replaces_its_lists_together_or_not_at_all(lt_dict, tmp_path, capsys, monkeypatch):
    """Issue 28: an interrupted run leaves the earlier lists, never a mix of two runs; a
    run replaces the earlier folder as a whole; a folder holding anything else is refused."""
    from spacy_rnn_ner.resources import lexicon_sources

    out = tmp_path / "lexicons"
    assert cli_main(["build-lexicons", str(out), "--sources", "lingotweaker", "--lt-dict", str(lt_dict)]) == 0
    (out / "countries.txt").write_text("україна\n", encoding="utf8")  # an earlier run's list
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real_write = lexicon_sources.write_text
    written = []

    def interrupted(path, text):
        if len(written) == 3:
            raise KeyboardInterrupt
        written.append(path)
        return real_write(path, text)

    monkeypatch.setattr(lexicon_sources, "write_text", interrupted)
    assert cli_main(["build-lexicons", str(out), "--sources", "lingotweaker", "--lt-dict", str(lt_dict),
                     "--no-derived"]) == 130
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lexicons", "ukrainian.dict", "ukrainian.info"]  # no temporary folder
    monkeypatch.setattr(lexicon_sources, "write_text", real_write)
    assert cli_main(["build-lexicons", str(out), "--sources", "lingotweaker", "--lt-dict", str(lt_dict),
                     "--no-derived"]) == 0
    assert not (out / "countries.txt").exists() and not (out / "person_geo.txt").exists()  # this run's lists
    (out / "notes.md").write_text("mine", encoding="utf8")
    capsys.readouterr()
    assert cli_main(["build-lexicons", str(out), "--sources", "lingotweaker", "--lt-dict", str(lt_dict)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"error: {out}: holds files that are not an earlier output of build-lexicons (notes.md): the folder is "
        "replaced as a whole; give a new or empty folder")  # the lists are its own (probe 3 b03)
    assert (out / "notes.md").read_text(encoding="utf8") == "mine"


def test_derive_lists_without_a_dictionary():
    lists = {"geo": {"львів", "марія"}, "first_names": {"марія"}}
    assert derive_lists(lists) == {"person_geo": {"марія"}, "geo_not_person": {"львів"}}


def test_collect_lists_skips_blank_and_multiword():
    assert collect_lists([("a", "x"), ("a", " "), ("a", "x y"), ("b", "z")]) == {"a": {"x"}, "b": {"z"}}


def test_name_words():
    assert name_words("Острови Кука") == ["острови", "кука"]
    assert name_words("Бонайре, Сінт-Естатіус і Саба") == ["бонайре", "сінт-естатіус", "саба"]
    assert name_words("Корея (Республіка)") == ["корея", "республіка"]


def write_mo(path: Path, catalog: Dict[str, str]) -> None:
    """A GNU gettext .mo file (little-endian, no hash table)."""
    keys = sorted(catalog)
    ids = [k.encode("utf8") for k in keys]
    strs = [catalog[k].encode("utf8") for k in keys]
    n = len(keys)
    start = 7 * 4 + 16 * n
    offsets, blob = [], b""
    for data in ids + strs:
        offsets.append((len(data), start + len(blob)))
        blob += data + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, n, 28, 28 + 8 * n, 0, 0)
    table = b"".join(struct.pack("<2I", *o) for o in offsets)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + table + blob)


def test_iso_codes_entries(tmp_path):
    write_mo(tmp_path / "uk" / "LC_MESSAGES" / "iso_3166-1.mo",
             {"": "Content-Type: text/plain; charset=UTF-8\n", "Ukraine": "Україна",
              "Cook Islands": "Острови Кука"})
    write_mo(tmp_path / "uk" / "LC_MESSAGES" / "iso_3166-2.mo", {"": "Content-Type: text/plain; charset=UTF-8\n", "Lviv": "Львівська область"})
    lists = collect_lists(iso_codes_entries(tmp_path, "uk", {"iso_3166-1": "countries",
                                                             "iso_3166-2": "regions"}))
    assert lists == {"countries": {"україна", "острови", "кука"}, "regions": {"львівська"}}
    with pytest.raises(FileNotFoundError, match="iso_3166-3.mo"):
        list(iso_codes_entries(tmp_path, "uk", {"iso_3166-3": "countries"}))


def test_pymorphy3_dictionary_entries():
    tags = [SimpleNamespace(grammemes=frozenset(g)) for g in
            (["NOUN", "Name", "nomn"], ["NOUN", "Name", "gent"], ["NOUN", "nomn"], ["NOUN", "Surn", "nomn"])]
    # paradigm: (suffix ids..., tag ids..., prefix ids...), one per form
    paradigms = [(0, 1, 0, 1, 0, 0), (0, 2, 0)]
    words = [("марія", (0, 0)), ("марії", (0, 1)), ("стіл", (1, 0))]
    dictionary = SimpleNamespace(
        gramtab=tags, paradigms=paradigms,
        words=SimpleNamespace(iteritems=lambda: iter(words)),
        build_normal_form=lambda para, index, word: "марія" if para == 0 else word)
    lists = collect_lists(pymorphy3_dictionary_entries(dictionary, {"Name": "first_names",
                                                                    "Surn": "surnames"}))
    assert lists == {"first_names": {"марія", "марії"}}


def test_real_lingotweaker_dictionary():
    pytest.importorskip("lingotweaker_data_uk")
    from spacy_rnn_ner.resources.lexicon_sources import lingotweaker_dictionary

    automaton = Automaton.read(lingotweaker_dictionary())
    has_form = form_checker(automaton)
    assert has_form("Київ") and has_form("Шевченка") and has_form("мене")
    assert not has_form("Кииїв")


@pytest.mark.slow
def test_real_lingotweaker_patronymics():
    pytest.importorskip("lingotweaker_data_uk")
    from spacy_rnn_ner.resources.lexicon_sources import lingotweaker_dictionary

    found = {(form, lemma) for form, lemma, _ in
             iter_decoded(read_tagged_entries(lingotweaker_dictionary(), ["pname"]))}
    assert ("Миколайовича", "Миколайович") in found and len(found) > 1000


def iter_decoded(entries):
    return list(entries)


def test_read_mo_agrees_with_gettext(tmp_path):
    """The .mo reader (no private gettext API) gives what gettext translates; a file
    that is not a catalogue is an InputError naming it."""
    import gettext

    from spacy_rnn_ner.errors import InputError
    from spacy_rnn_ner.resources.lexicon_sources import read_mo

    catalog = {"": "Content-Type: text/plain; charset=UTF-8\n", "Ukraine": "Україна", "Kyiv": "Київ"}
    write_mo(tmp_path / "t.mo", catalog)
    assert read_mo(tmp_path / "t.mo") == catalog
    with (tmp_path / "t.mo").open("rb") as file_:
        translations = gettext.GNUTranslations(file_)
    assert all(translations.gettext(k) == v for k, v in catalog.items() if k)
    (tmp_path / "bad.mo").write_bytes(b"not a catalogue at all, no magic")
    with pytest.raises(InputError, match="bad.mo"):
        read_mo(tmp_path / "bad.mo")
