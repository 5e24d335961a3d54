"""Constrained Viterbi decoding against greedy per-token argmax, on one trained model.

``python -m spacy_rnn_ner compare-decoding --model DIR --data FILE.spacy`` prints the
entity scores of both decodings (:func:`format_decoding`). Greedy: each token's most
probable tag by the model's probabilities (with a CRF, its marginals); an ``I-X`` that
does not continue an ``X`` entity is read as ``O``.
"""
from pathlib import Path
from typing import Dict, List

import numpy
from spacy.training import Example

from ..errors import InputError
from ..io import check_exists, load_docbin, load_pipeline

from ..pipeline_component import DocPrediction, RNNEntityRecognizer
from ..scorer import score_ents


def greedy_decode(ner: RNNEntityRecognizer, docs: List) -> List[DocPrediction]:
    """Most probable tag per token, no transition constraints. The probabilities are
    the model's (its ``tag_probabilities``: softmax outputs, or a CRF's marginals, not
    its emission scores)."""
    model = ner.model
    probs = model.attrs["tag_probabilities"](model, model.predict(docs))
    tags = probs.argmax(axis=1) if len(probs) else numpy.zeros((0,), "int64")
    chosen = probs.max(axis=1) if len(probs) else numpy.zeros((0,), "f")
    splits = numpy.cumsum([len(doc) for doc in docs])[:-1]
    return [DocPrediction(t, p) for t, p in zip(numpy.split(tags, splits), numpy.split(chosen, splits))]


def compare_decoding(model: Path, data: Path, component: str = "rnn_ner") -> Dict[str, Dict]:
    check_exists(model, "dir")
    docbin = load_docbin(data)
    if not len(docbin):
        raise InputError("holds no documents", data)
    nlp = load_pipeline(model)
    if component not in nlp.pipe_names:
        raise InputError(f"the pipeline has no {component!r} component (it has "
                         f"{', '.join(nlp.pipe_names) or 'none'})", model)
    gold = list(docbin.get_docs(nlp.vocab))
    if not any(doc.has_annotation("ENT_IOB") for doc in gold):
        raise InputError("holds no NER annotation (no token has an entity tag, not even O): there "
                         "is nothing to score the decodings against; give annotated documents", data)
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
        # over the model's labels, as report scores: gold labels it lacks are warned about
        results[name] = score_ents([Example(p, g) for p, g in zip(docs, gold)],
                                   labels=nlp.get_pipe(component).labels)
    return results


def format_decoding(results: Dict[str, Dict]) -> str:
    """A small text table: micro and macro F1 and F1 per type of each decoding (``-``: no
    score, e.g. no gold and no predicted entity)."""
    def pct(value, width: int) -> str:
        return f"{100 * value:{width}.2f}" if value is not None else "-".rjust(width)

    types = sorted(results["viterbi"].get("ents_per_type") or {})
    lines = ["decoding  micro-F1  macro-F1  " + "  ".join(types)]
    for name, scores in results.items():
        per_type = scores.get("ents_per_type") or {}
        lines.append(f"{name:8}  {pct(scores.get('ents_f'), 8)}  {pct(scores.get('ents_macro_f'), 8)}  "
                     + "  ".join(pct(per_type[t].get("f"), 5) if t in per_type else "    -" for t in types))
    return "\n".join(lines)
