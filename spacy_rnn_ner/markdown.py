"""Markdown tables: the one writer of every table the commands print or write, so that a
cell holding ``|`` (a system name, a word list's name) or a line break cannot break
the table's columns."""
from typing import Any, Iterable, Optional, Sequence


def escape_cell(value: Any) -> str:
    """``value`` as the text of one table cell: ``|`` escaped as ``\\|`` (GitHub shows
    it as ``|``), line breaks as spaces."""
    text = str(value).replace("|", "\\|")
    return " ".join(text.splitlines()) if "\n" in text or "\r" in text else text


def markdown_table(headers: Sequence[Any], rows: Iterable[Sequence[Any]],
                   align: Optional[str] = None) -> str:
    """A GitHub-flavoured Markdown table (ending in a line break); ``align`` is one
    character per column (``l``/``r``), default ``l`` then ``r``. Every cell goes through
    :func:`escape_cell`."""
    align = align or "l" + "r" * (len(headers) - 1)
    rule = ["---:" if a == "r" else ":---" for a in align]
    lines = [[escape_cell(h) for h in headers], rule] + [[escape_cell(cell) for cell in row]
                                                        for row in rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines) + "\n"
