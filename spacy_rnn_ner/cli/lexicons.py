"""``build-lexicons`` and ``lexicon-coverage``: word lists from packaged dictionaries and
how well they pick out entity tokens (see :mod:`spacy_rnn_ner.resources.lexicon_sources`)."""
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import InputError
from ..file_kinds import COVERAGE_MARKDOWN, markdown_marker
from ..markdown import markdown_table
from ..io import OutputFile, check_exists, check_outputs, read_docbin, write_text
from ._util import Arg, Opt, app, lang_option


#: where iso-codes' translations are (Debian/Ubuntu); project.yml passes it whatever the sources
ISO_LOCALE_DIR = "/usr/share/locale"


def check_source_options(names: List[str], lt_dict: Optional[Path], iso_locale_dir: str) -> None:
    """An :class:`InputError` for an option of a source that --sources does not name (it
    would do nothing); ``--iso-locale-dir`` counts as given when it is not the default folder."""
    given = {"lingotweaker": [("--lt-dict", lt_dict is not None)],
             "iso-codes": [("--iso-locale-dir", iso_locale_dir != ISO_LOCALE_DIR)]}
    for source, options in given.items():
        for option, is_given in options:
            if is_given and source not in names:
                raise InputError(f"{option} applies to the {source} source, which --sources "
                                 f"({', '.join(names)}) does not name")


@app.command("build-lexicons")
def build_lexicons_cli(
    output_dir: Path = Arg(..., metavar="OUTPUT_DIR", help="Folder for the <list>.txt files."),
    sources: str = Opt("lingotweaker,pymorphy3,iso-codes", "--sources", help="Comma-separated "
                       "sources: lingotweaker, pymorphy3, iso-codes."),
    lang: str = lang_option("uk"),
    iso_locale_dir: str = Opt(ISO_LOCALE_DIR, "--iso-locale-dir",
                              help="Folder holding <lang>/LC_MESSAGES/iso_3166-*.mo."),
    no_derived: bool = Opt(False, "--no-derived", help="Do not write person_geo, geo_not_person "
                           "and the *_strict lists."),
    lt_dict: Optional[Path] = Opt(None, "--lt-dict", help="A morfologik .dict to read instead of "
                                  "lingotweaker-data-uk's."),
) -> None:
    """Write lowercased word lists (first names, surnames, geo, ...; all inflected forms)."""
    from ..resources.lexicon_sources import build_lexicons

    names = [s.strip() for s in sources.split(",") if s.strip()]
    if not names:
        raise typer.BadParameter("no lexicon source given", param_hint="--sources")
    check_source_options(names, lt_dict, iso_locale_dir)
    sizes = build_lexicons(output_dir, names, lang, iso_locale_dir, lt_dict, derived=not no_derived)
    rows = [[name] + [f"{sizes[s].get(name, 0):,}" for s in names] + [f"{sizes['total'][name]:,}"]
            for name in sorted(sizes["total"])]
    typer.echo(markdown_table(["list", *names, "total"], rows).rstrip("\n"))
    typer.echo(f"-> {output_dir}")


def check_grammemes(names: List[str], lang: str) -> None:
    """An :class:`InputError` for a grammeme pymorphy3 does not know for ``lang`` (it
    would never fire)."""
    from ..layers.lexicon_features import unknown_grammemes

    unknown = unknown_grammemes(names, lang)
    if unknown:
        raise InputError(f"--grammemes: pymorphy3 knows no grammeme {', '.join(unknown)} "
                         f"for {lang} (e.g. Name, Surn, Patr, Geox, Abbr)")


def check_morphology_lang(lang: str) -> None:
    """An :class:`InputError` naming ``--lang`` when pymorphy3 has no dictionary for it."""
    from ..layers.lexicon_features import morph_analyzer

    try:
        morph_analyzer(lang)
    except ValueError as err:
        raise InputError(f"--lang {lang}: {err} (give --morphology none)") from None


@app.command("lexicon-coverage")
def lexicon_coverage_cli(
    data: Path = Arg(..., metavar="DATA", help="A .spacy file with gold entities."),
    lists: List[str] = Arg(..., metavar="LISTS", help="NAME=FILE, FILE or FOLDER of word lists."),
    grammemes: str = Opt("", "--grammemes", help="Comma-separated pymorphy3 grammemes."),
    morphology: str = Opt("pymorphy3", "--morphology", help="none or pymorphy3."),
    lang: str = lang_option("uk"),
    output: Optional[Path] = Opt(None, "--output", help="Also write the table here."),
) -> None:
    """Per label, how often each list fires on the label's tokens (precision, recall)."""
    import spacy

    from ..layers.lexicon_features import MORPHOLOGIES
    from ..resources.lexicon_coverage import coverage, format_coverage, parse_gazetteer_args

    if morphology not in MORPHOLOGIES:
        raise InputError(f"--morphology {morphology}: expected one of {', '.join(MORPHOLOGIES)}")
    names = [g.strip() for g in grammemes.split(",") if g.strip()]
    if names and morphology != "pymorphy3":
        raise InputError("--grammemes need --morphology pymorphy3")
    if morphology == "pymorphy3":
        check_morphology_lang(lang)
    if names:
        check_grammemes(names, lang)
    check_exists(data, "file")
    gazetteers = parse_gazetteer_args(lists)
    # the lists as given (a folder: no output inside it) and the files found in them
    given = [spec.rpartition("=")[2] for spec in lists]
    check_outputs([None if output is None else OutputFile(output, COVERAGE_MARKDOWN)],
                  [data, *given, *(p for paths in gazetteers.values() for p in paths)])
    docs = read_docbin(data, spacy.blank(lang).vocab)
    if not docs:
        raise InputError("holds no documents", data)
    table = format_coverage(*coverage(docs, gazetteers, names, morphology, lang,
                                      warn=lambda message: typer.echo(f"warning: {message}", err=True)))
    typer.echo(table)
    if output is not None:
        write_text(output, markdown_marker("lexicon-coverage") + "\n\n" + table + "\n")
