"""Read morfologik dictionaries (LanguageTool's ``*.dict``, CFSA2 automata) in pure Python.

A morfologik dictionary is a minimal finite-state automaton over byte sequences
``FORM + SEP + ENCODED_LEMMA + SEP + TAG``. With the ``SUFFIX`` encoder (the one in the
``.info`` file next to the ``.dict``) the encoded lemma is one byte ``K`` and a suffix:
drop ``K - ord('A')`` bytes from the end of FORM (all of it when that is 255) and append
the suffix. The automaton layout (header ``\\fsa``, version ``0xC6``, flags, a table of
frequent labels, then the arcs, each a flag byte ``N L F MMMMM``, an optional explicit
label and, without ``N``, a variable-length target address) is the published CFSA2 format.

:func:`iter_entries` walks only the part of the automaton that leads to a wanted tag: a
first pass marks, per (node, tag-matching state), whether such an entry is reachable.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Collection, Dict, Iterator, List, Tuple

from ..errors import InputError, PathLike

from ..io import read_text
CFSA2_VERSION = 0xC6
_NEXT, _LAST, _FINAL, _INDEX_MASK = 0x80, 0x40, 0x20, 0x1F
_NUMBERS_FLAG = 16


#: a file that is not a CFSA2 automaton or a dictionary this reader cannot decode (the name
#: stays for callers; one class, :class:`~spacy_rnn_ner.errors.InputError`)
MorfologikError = InputError


@dataclass
class Automaton:
    """A CFSA2 automaton: ``arcs`` is the arc area, ``labels`` the label table."""

    arcs: bytes
    labels: bytes
    path: str

    @classmethod
    def read(cls, path: PathLike) -> "Automaton":
        data = Path(path).read_bytes()
        if len(data) < 8 or data[:4] != b"\\fsa":
            raise MorfologikError(f"{path}: not a morfologik automaton (no '\\fsa' header)")
        if data[4] != CFSA2_VERSION:
            raise MorfologikError(f"{path}: automaton version 0x{data[4]:02x} is not supported "
                                  f"(only CFSA2, 0x{CFSA2_VERSION:02x})")
        flags = int.from_bytes(data[5:7], "big")
        if flags & _NUMBERS_FLAG:
            raise MorfologikError(f"{path}: automata with NUMBERS are not supported")
        n_labels = data[7]
        return cls(arcs=data[8 + n_labels:], labels=data[8:8 + n_labels], path=str(path))

    def node_arcs(self, node: int) -> List[Tuple[int, bool, int]]:
        """``(label byte, is final, target node or 0 for none)`` for the arcs of ``node``."""
        arcs, out, offset = self.arcs, [], node
        next_target = []  # arcs whose target is the node right after this one's arcs
        while True:
            flag = arcs[offset]
            offset += 1
            index = flag & _INDEX_MASK
            if index:
                label = self.labels[index]
            else:
                label = arcs[offset]
                offset += 1
            target = 0
            if flag & _NEXT:
                next_target.append(len(out))
            else:
                shift = 0
                while True:
                    byte = arcs[offset]
                    offset += 1
                    target |= (byte & 0x7F) << shift
                    if byte < 0x80:
                        break
                    shift += 7
            out.append((label, bool(flag & _FINAL), target))
            if flag & _LAST:
                break
        for i in next_target:
            out[i] = (out[i][0], out[i][1], offset)
        return out

    @property
    def root(self) -> int:
        """The start node (the target of the dummy node at offset 0)."""
        return self.node_arcs(0)[0][2]


def read_info(path: PathLike) -> Dict[str, str]:
    """``key=value`` pairs of a morfologik ``.info`` file (``#`` comments skipped)."""
    info = {}
    for line in read_text(path).splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            info[key.strip()] = value.strip()
    return info


class _TagMatcher:
    """States of a scan over ``FORM SEP LEMMA SEP TAG`` that tells whether one of the
    ``:``-separated tokens of TAG is wanted. State ids: 0 in FORM, 1 in LEMMA, 2 matched,
    3 a token that cannot match, 4+ a prefix of a wanted token (4: empty prefix)."""

    IN_FORM, IN_LEMMA, MATCHED, DEAD, EMPTY = 0, 1, 2, 3, 4

    def __init__(self, wanted: Collection[str], separator: int) -> None:
        tokens = {t.encode("utf8") for t in wanted}
        prefixes = sorted({t[:i] for t in tokens for i in range(len(t) + 1)}, key=len)
        self.ids = {p: self.EMPTY + i for i, p in enumerate(prefixes)}  # b"" -> EMPTY
        self.complete = {self.ids[t] for t in tokens}
        self.separator = separator
        self.step_table: Dict[Tuple[int, int], int] = {}
        for prefix, state in self.ids.items():
            for byte in range(256):
                longer = prefix + bytes((byte,))
                if longer in self.ids:
                    self.step_table[state, byte] = self.ids[longer]

    def step(self, state: int, byte: int) -> int:
        if state == self.IN_FORM:
            return self.IN_LEMMA if byte == self.separator else state
        if state == self.IN_LEMMA:
            return self.EMPTY if byte == self.separator else state
        if state == self.MATCHED:
            return state
        if byte == ord(":"):
            return self.MATCHED if state in self.complete else self.EMPTY
        if state == self.DEAD:
            return state
        return self.step_table.get((state, byte), self.DEAD)

    def accepts(self, state: int) -> bool:
        """At the end of a sequence."""
        return state == self.MATCHED or state in self.complete


def iter_entries(automaton: Automaton, wanted: Collection[str], separator: str = "+"
                 ) -> Iterator[bytes]:
    """Raw sequences ``FORM+LEMMA_CODE+TAG`` whose TAG has one of the ``wanted`` tokens."""
    matcher = _TagMatcher(wanted, ord(separator))
    reachable: Dict[int, bool] = {}
    n_states = matcher.EMPTY + len(matcher.ids)

    def good(node: int, state: int) -> bool:
        key = node * n_states + state
        found = reachable.get(key)
        if found is None:
            found = False
            for label, final, target in automaton.node_arcs(node):
                after = matcher.step(state, label)
                if (final and matcher.accepts(after)) or (target and good(target, after)):
                    found = True
                    break
            reachable[key] = found
        return found

    def walk(node: int, state: int, prefix: bytes) -> Iterator[bytes]:
        for label, final, target in automaton.node_arcs(node):
            after = matcher.step(state, label)
            sequence = prefix + bytes((label,))
            if final and matcher.accepts(after):
                yield sequence
            if target and good(target, after):
                yield from walk(target, after, sequence)

    root = automaton.root
    if good(root, matcher.IN_FORM):
        yield from walk(root, matcher.IN_FORM, b"")


def decode_suffix_entry(sequence: bytes, separator: str = "+", encoding: str = "utf8"
                        ) -> Tuple[str, str, str]:
    """``(form, lemma, tag)`` of a sequence of a ``SUFFIX``-encoded dictionary."""
    parts = sequence.split(separator.encode(encoding), 2)
    if len(parts) != 3 or not parts[1]:
        raise MorfologikError(f"malformed dictionary entry {sequence!r}: expected "
                              f"FORM{separator}CODE{separator}TAG")
    form, code, tag = parts
    trim = (code[0] - ord("A")) & 0xFF
    stem = b"" if trim == 255 else form[: len(form) - trim]
    return form.decode(encoding), (stem + code[1:]).decode(encoding), tag.decode(encoding)


def read_tagged_entries(dict_path: PathLike, wanted: Collection[str]
                        ) -> Iterator[Tuple[str, str, str]]:
    """``(form, lemma, tag)`` of every entry of a morfologik dictionary whose tag has one
    of the ``wanted`` tokens; the ``.info`` file next to it gives separator and encoding."""
    dict_path = Path(dict_path)
    info_path = dict_path.with_suffix(".info")
    info = read_info(info_path) if info_path.exists() else {}
    encoder = info.get("fsa.dict.encoder", "SUFFIX").upper()
    if encoder != "SUFFIX":
        raise MorfologikError(f"{info_path}: encoder {encoder} is not supported (only SUFFIX)")
    separator = info.get("fsa.dict.separator", "+")
    encoding = info.get("fsa.dict.encoding", "utf-8")
    automaton = Automaton.read(dict_path)
    try:
        for sequence in iter_entries(automaton, wanted, separator):
            yield decode_suffix_entry(sequence, separator, encoding)
    except (IndexError, UnicodeDecodeError, LookupError) as err:  # truncated or damaged
        raise MorfologikError(f"{dict_path}: damaged dictionary ({type(err).__name__}: "
                              f"{err})") from None


def form_checker(automaton: Automaton, separator: str = "+", encoding: str = "utf8"
                 ) -> Callable[[str], bool]:
    """A function telling whether a word form (exact case) is an entry of the dictionary."""
    from functools import lru_cache

    node_arcs = lru_cache(maxsize=1 << 16)(automaton.node_arcs)
    root = automaton.root

    def has_form(form: str) -> bool:
        node = root
        for byte in form.encode(encoding) + separator.encode(encoding):
            for label, _, target in node_arcs(node):
                if label == byte:
                    node = target
                    break
            else:
                return False
            if not node:
                return False
        return True

    return has_form
