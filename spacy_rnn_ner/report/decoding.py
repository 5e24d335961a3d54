"""Constrained Viterbi decoding against greedy per-token argmax, on one trained model.

``python -m spacy_rnn_ner compare-decoding --model DIR --data FILE.spacy`` prints the
entity scores of both decodings (greedy: each token's most probable tag; an ``I-X`` that
does not continue an ``X`` entity is read as ``O``).
"""
import argparse
import json
import sys
from pathlib import Path
from typing import Dict, Iterable, List, Optional

import numpy
import spacy
from spacy.tokens import DocBin
from spacy.training import Example

from ..pipeline_component import DocPrediction, RNNEntityRecognizer
from ..scorer import score_ents


def greedy_decode(ner: RNNEntityRecognizer, docs: List) -> List[DocPrediction]:
    """Most probable tag per token, no transition constraints."""
    probs = ner.model.predict(docs)
    predictions = []
    for doc_probs in probs:
        doc_probs = ner.model.ops.to_numpy(doc_probs)
        tags = doc_probs.argmax(axis=1) if len(doc_probs) else numpy.zeros((0,), "int64")
        predictions.append(DocPrediction(tags, doc_probs.max(axis=1) if len(doc_probs) else tags))
    return predictions


def compare_decoding(model: Path, data: Path, component: str = "rnn_ner") -> Dict[str, Dict]:
    nlp = spacy.load(model)
    ner = nlp.get_pipe(component)
    gold = list(DocBin().from_disk(data).get_docs(nlp.vocab))
    results = {}
    for name in ("viterbi", "greedy"):
        docs = [nlp.make_doc(doc.text) for doc in gold]
        for pipe_name, pipe in nlp.pipeline:
            if pipe_name == component:
                if name == "greedy":
                    pipe.set_annotations(docs, greedy_decode(pipe, docs))
                else:
                    pipe.set_annotations(docs, pipe.predict(docs))
            else:
                docs = list(pipe.pipe(docs))
        results[name] = score_ents([Example(p, g) for p, g in zip(docs, gold)])
    return results


def main(argv: Optional[Iterable[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spacy_rnn_ner compare-decoding", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--output", type=Path, default=None, help="JSON file for the scores")
    args = parser.parse_args(list(argv) if argv is not None else None)
    for path in (args.model, args.data):
        if not path.exists():
            print(f"error: input path not found: {path}", file=sys.stderr)
            return 1
    results = compare_decoding(args.model, args.data)
    print("decoding  micro-F1  macro-F1  " + "  ".join(sorted(results["viterbi"]["ents_per_type"])))
    for name, scores in results.items():
        per_type = scores["ents_per_type"]
        print(f"{name:8}  {100 * scores['ents_f']:8.2f}  {100 * scores['ents_macro_f']:8.2f}  "
              + "  ".join(f"{100 * per_type[t]['f']:5.2f}" for t in sorted(per_type)))
    if args.output:
        args.output.write_text(json.dumps(results, indent=2), encoding="utf8")
    return 0
