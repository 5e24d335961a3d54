"""Our entity scores (``spacy_rnn_ner.ner_scorer.v1``: spaCy's ``get_ner_prf`` plus macro)
equal seqeval's strict IOB2 scores on the same sentences, so numbers compare like with like
with Hugging Face Trainer results."""
import random
from typing import Dict, List

import pytest
import spacy
from spacy.tokens import Doc, DocBin
from spacy.training import Example

from conftest import TRAIN_DATA, build_nlp, make_examples
from spacy_rnn_ner.scorer import score_ents

seqeval_metrics = pytest.importorskip("seqeval.metrics")
from seqeval.scheme import IOB2  # noqa: E402



def iob2(doc: Doc) -> List[str]:
    """IOB2 tags of ``doc.ents``."""
    tags = ["O"] * len(doc)
    for ent in doc.ents:
        tags[ent.start:ent.end] = [f"B-{ent.label_}"] + [f"I-{ent.label_}"] * (len(ent) - 1)
    return tags


def seqeval_scores(examples: List[Example]) -> Dict[str, Dict[str, float]]:
    """seqeval's report (mode='strict', scheme=IOB2), one sequence per gold sentence."""
    y_true, y_pred = [], []
    for eg in examples:
        ref = eg.reference
        sents = [(s.start, s.end) for s in ref.sents] if ref.has_annotation("SENT_START") else [(0, len(ref))]
        gold, pred = iob2(ref), iob2(eg.predicted)
        y_true.extend(gold[a:b] for a, b in sents)
        y_pred.extend(pred[a:b] for a, b in sents)
    return seqeval_metrics.classification_report(
        y_true, y_pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0
    )


def assert_same(examples: List[Example]) -> Dict[str, float]:
    ours = score_ents(examples)
    theirs = seqeval_scores(examples)
    approx = lambda x: pytest.approx(x, abs=1e-9)  # noqa: E731
    assert ours["ents_p"] == approx(theirs["micro avg"]["precision"])
    assert ours["ents_r"] == approx(theirs["micro avg"]["recall"])
    assert ours["ents_f"] == approx(theirs["micro avg"]["f1-score"])
    labels = {k for k in theirs if not k.endswith(" avg")}
    assert set(ours["ents_per_type"]) == labels
    for label in labels:
        assert ours["ents_per_type"][label]["p"] == approx(theirs[label]["precision"])
        assert ours["ents_per_type"][label]["r"] == approx(theirs[label]["recall"])
        assert ours["ents_per_type"][label]["f"] == approx(theirs[label]["f1-score"])
    assert ours["ents_macro_p"] == approx(theirs["macro avg"]["precision"])
    assert ours["ents_macro_r"] == approx(theirs["macro avg"]["recall"])
    assert ours["ents_macro_f"] == approx(theirs["macro avg"]["f1-score"])
    return ours


def perturbed(doc: Doc, rng: random.Random, labels: List[str]) -> Doc:
    """A prediction with boundary, label, missed and spurious errors."""
    pred = Doc(doc.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])
    spans = []
    for ent in doc.ents:
        roll = rng.random()
        if roll < 0.15:
            continue  # missed
        start, end, label = ent.start, ent.end, ent.label_
        if roll < 0.3 and end < len(doc):
            end += 1  # boundary error
        elif roll < 0.45:
            label = rng.choice([x for x in labels if x != label])
        spans.append((start, end, label))
    taken = {i for s, e, _ in spans for i in range(s, e)}
    for i in range(len(doc)):
        if i not in taken and rng.random() < 0.05 and (i + 1) not in taken:
            spans.append((i, i + 1, rng.choice(labels)))
            taken.add(i)
    spans = sorted(spans)
    kept, last = [], -1
    for s, e, label in spans:
        if s >= last:
            kept.append(pred.char_span(pred[s].idx, pred[e - 1].idx + len(pred[e - 1]), label=label))
            last = e
    pred.ents = kept
    return pred


def test_equal_on_perturbed_gold():
    nlp = spacy.blank("uk")
    rng = random.Random(0)
    labels = ["LOC", "MISC", "ORG", "PERS", "EXTRA"]  # EXTRA: a type only predicted
    examples = []
    for eg in make_examples(nlp, TRAIN_DATA * 5):
        examples.append(Example(perturbed(eg.reference, rng, labels), eg.reference))
    ours = assert_same(examples)
    assert 0.2 < ours["ents_f"] < 0.95  # errors of every kind, not a trivial case


@pytest.mark.slow
def test_equal_on_ner_uk_predictions(ner_uk_dir, tmp_path):
    from spacy_rnn_ner.__main__ import main as cli_main

    assert cli_main(["convert", "ner-uk", str(ner_uk_dir), str(tmp_path), "--max-docs", "8", "--lang", "uk"]) == 0
    nlp = build_nlp("lstm")

    def sentences(name: str) -> List[Doc]:
        docs = DocBin().from_disk(tmp_path / f"{name}.spacy").get_docs(nlp.vocab)
        return [sent.as_doc() for doc in docs for sent in doc.sents]

    def blank(doc: Doc) -> Doc:
        return Doc(nlp.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc],
                   sent_starts=[t.is_sent_start for t in doc])

    examples = [Example(blank(d), d) for d in sentences("train") + sentences("dev")]
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    for _ in range(4):
        for i in range(0, len(examples), 16):
            nlp.update(examples[i:i + 16], sgd=optimizer)
    test = list(DocBin().from_disk(tmp_path / "test.spacy").get_docs(nlp.vocab))[:4]
    predicted = [Example(nlp(blank(d)), d) for d in test]
    assert sum(len(eg.predicted.ents) for eg in predicted) > 0
    ours = assert_same(predicted)
    assert 0.0 < ours["ents_f"] < 1.0
    # spaCy's evaluate on the same docs reports the same numbers
    assert nlp.evaluate(predicted)["ents_f"] == pytest.approx(ours["ents_f"])
