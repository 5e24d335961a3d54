"""Sentence boundaries for NER: spaCy's ``sentencizer`` against ``abbrev_sentencizer``.

For each DocBin (never the TEST files: this is for choosing), the text is tokenized by a
blank pipeline, as in training and prediction, and each segmenter sets sentence starts.
Printed per segmenter: the gold entities that a predicted sentence start cuts (the
``rnn_ner`` decoder can never find them whole), per type, and, where the DocBin has
sentence starts of its own (ner-uk 1.0: one sentence per line), sentence-start precision,
recall and F against them.

    python benchmarks/sentences.py corpus/train.spacy corpus/dev.spacy [--lang uk]
"""
import argparse
from collections import Counter
from pathlib import Path
from typing import Dict, List

import spacy
from spacy.scorer import Scorer
from spacy.tokens import DocBin
from spacy.training import Example

SEGMENTERS = ("sentencizer", "abbrev_sentencizer")


def cut_entities(examples: List[Example]) -> Counter:
    """Gold entities (by label) with a predicted sentence start inside them."""
    cut: Counter = Counter()
    for eg in examples:
        for ent in eg.reference.ents:
            span = eg.predicted.char_span(ent.start_char, ent.end_char, alignment_mode="expand")
            if span is not None and any(token.is_sent_start for token in span[1:]):
                cut[ent.label_] += 1
    return cut


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("docbins", nargs="+", type=Path)
    parser.add_argument("--lang", default="uk")
    args = parser.parse_args()
    blank = spacy.blank(args.lang)
    references = [doc for path in args.docbins for doc in DocBin().from_disk(path).get_docs(blank.vocab)]
    n_ents = Counter(ent.label_ for doc in references for ent in doc.ents)
    has_sents = all(doc.has_annotation("SENT_START") for doc in references)
    labels = sorted(n_ents)
    print(f"{len(references)} documents, {sum(n_ents.values())} entities "
          f"({', '.join(f'{label} {n_ents[label]}' for label in labels)})")
    print("| segmenter | entities cut | " + " | ".join(labels)
          + (" | sentence starts P / R / F |" if has_sents else " |"))
    print("| --- " * (2 + len(labels) + has_sents) + "|")
    for name in SEGMENTERS:
        nlp = spacy.blank(args.lang)
        nlp.add_pipe(name)
        examples = [Example(doc, ref) for doc, ref in
                    zip(nlp.pipe(nlp.make_doc(ref.text) for ref in references), references)]
        cut = cut_entities(examples)
        row = f"| {name} | {sum(cut.values())} | " + " | ".join(str(cut[label]) for label in labels)
        if has_sents:
            scores: Dict[str, float] = Scorer.score_spans(examples, "sents")
            row += f" | {100 * scores['sents_p']:.1f} / {100 * scores['sents_r']:.1f} / {100 * scores['sents_f']:.1f}"
        print(row + " |")


if __name__ == "__main__":
    main()
