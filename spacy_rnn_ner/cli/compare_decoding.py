"""``compare-decoding``: constrained Viterbi against greedy per-token argmax decoding of
one trained rnn_ner pipeline."""
import json
from pathlib import Path
from typing import Optional

import typer

from ..file_kinds import DECODING_JSON
from ..io import OutputFile, check_outputs, write_text
from ._util import Opt, app


@app.command("compare-decoding")
def compare_decoding_cli(
    model: Path = Opt(..., "--model", help="Trained pipeline folder with rnn_ner."),
    data: Path = Opt(..., "--data", help="DocBin (.spacy) with gold entities."),
    output: Optional[Path] = Opt(None, "--output", help="JSON file for the scores."),
) -> None:
    """Entity scores of both decodings of the same model (greedy: each token's most
    probable tag; an I-X that does not continue an X entity is read as O)."""
    from ..report.decoding import compare_decoding, format_decoding

    check_outputs([None if output is None else OutputFile(output, DECODING_JSON)], [model, data])
    results = compare_decoding(model, data)
    typer.echo(format_decoding(results))
    if output is not None:
        write_text(output, json.dumps(results, indent=2))
