"""Speed and memory of a trained rnn_ner pipeline against spaCy's `ner`, on unseen text.

    python benchmarks/speed.py MODEL --text assets/brown-uk [--ner-uk assets/ner-uk]
        [--warmup corpus/dev.spacy] [--spacy-config configs/spacy_ner.cfg] [--tokens 250000]
        [--rounds 2] [--output FILE]

- words/s over ONE pass of a long stream of paragraphs (at least ``--tokens`` tokens) of
  raw text (``*.txt`` under ``--text``, e.g. brown-uk), files in a fixed shuffled order,
  one paragraph (line) per text. With ``--ner-uk``, files that share text with an ner-uk
  TEST document are left out (the pretraining-text filter); give it unless the copy is
  filtered already.
- Each pass runs in a fresh process (so no cache of a pass carries over to the next), one
  thread, after a warm-up on ``--warmup`` texts (e.g. the dev set). Three pipelines, each
  with the same sentence setter first (MODEL's components before ``rnn_ner``, e.g.
  ``abbrev_sentencizer``), in the same run, the order rotated each round: rnn_ner (MODEL)
  as saved, rnn_ner with ``spans_key = null`` (no confidences: Viterbi alone) and spaCy's
  built-in ``ner`` (the pipeline of ``--spacy-config``, initialized on the warm-up docs:
  its speed does not depend on training). The median over ``--rounds`` is reported.
- The pass runs the components one after the other over all texts in batches of 64 (the
  work of ``nlp.pipe``), so each component's own time per 1,000 words is reported too.
- One document of the stream's first ``--long-doc`` tokens, with the pipeline as saved
  (sentence setter first: the RNN runs per sentence) and without it (the components
  before ``rnn_ner`` disabled: one 50,000-token segment), each with and without confidences: seconds and peak RSS over
  the RSS before it, in a fresh process (tracemalloc cannot see torch's allocator).
"""
import argparse
import json
import random
import statistics
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

PIPELINES = ("rnn_ner", "rnn_ner_no_spans", "spacy_ner")

LOAD = """
import json, sys, time, torch, spacy
from spacy.tokens import Doc, DocBin
torch.set_num_threads(1)
def load(which, model, sentence_setters=()):
    if which == "spacy_ner":
        nlp = spacy.util.load_model_from_config(spacy.util.load_config(model), auto_fill=True)
        for name, factory in reversed(sentence_setters):
            nlp.add_pipe(factory, name=name, first=True)
        return nlp
    spans = {} if which == "rnn_ner" else {"components": {"rnn_ner": {"spans_key": None}}}
    return spacy.load(model, config=spans)
"""

PASS_SCRIPT = LOAD + """
which, model, warmup, texts_file, setters = sys.argv[1:6]
nlp = load(which, model, json.loads(setters))
warm = [doc.text for doc in DocBin().from_disk(warmup).get_docs(nlp.vocab)]
if which == "spacy_ner":
    from spacy.training import Example
    nlp.initialize(lambda: [Example(nlp.make_doc(t), nlp.make_doc(t)) for t in warm[:50]])
for _ in nlp.pipe(warm, batch_size=64):
    pass
texts = json.loads(open(texts_file, encoding="utf8").read())
times = {}
start = time.perf_counter()
docs = [nlp.make_doc(text) for text in texts]
times["tokenizer"] = time.perf_counter() - start
for name, proc in nlp.pipeline:
    start = time.perf_counter()
    docs = list(proc.pipe(docs, batch_size=64))
    times[name] = time.perf_counter() - start
print(json.dumps({"words": sum(len(doc) for doc in docs), "seconds": sum(times.values()), "components": times}))
"""

LONG_DOC_SCRIPT = LOAD + """
from spacy_rnn_ner.report.memory import extra_peak_rss
which, model, words_file, sentencizer = sys.argv[1:5]
nlp = load(which, model)
if sentencizer == "no":
    for name in nlp.pipe_names[: nlp.pipe_names.index("rnn_ner")]:
        nlp.disable_pipe(name)
words = json.loads(open(words_file, encoding="utf8").read())
nlp(Doc(nlp.vocab, words=words[:2000]))  # warm up
with extra_peak_rss() as peak:
    start = time.perf_counter()
    doc = nlp(Doc(nlp.vocab, words=words))
    seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "extra_peak_rss_mib": peak["mib"], "ents": len(doc.ents)}))
"""


def text_stream(directory: Path, n_tokens: int, ner_uk: Optional[Path] = None, seed: int = 0) -> List[str]:
    """Paragraphs (non-empty lines) of the ``*.txt`` files under ``directory``, files in
    a shuffled order, until they hold at least ``n_tokens`` tokens (spaCy's Ukrainian
    tokenizer); with ``ner_uk``, without the files that overlap its TEST documents."""
    import spacy

    from spacy_rnn_ner.resources.pretraining_text import ner_uk_test_shingles, overlaps_test

    tokenizer = spacy.blank("uk").tokenizer

    def tokenize(text: str) -> List[str]:
        return [token.text for token in tokenizer(text)]

    test_shingles = ner_uk_test_shingles(ner_uk, tokenize) if ner_uk else None
    files = sorted(directory.rglob("*.txt"))
    random.Random(seed).shuffle(files)
    texts, count = [], 0
    for path in files:
        text = path.read_text(encoding="utf8")
        if test_shingles is not None and overlaps_test(tokenize(text), test_shingles):
            continue
        for line in text.splitlines():
            if line.strip():
                texts.append(line)
                count += len(tokenizer(line))
        if count >= n_tokens:
            return texts
    raise SystemExit(f"{directory}: only {count} tokens of text, fewer than --tokens {n_tokens}.")


def run(script: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark process failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--text", type=Path, default=Path("assets/brown-uk"),
                        help="directory of raw .txt files none of the pipelines has seen")
    parser.add_argument("--ner-uk", type=Path, help="ner-uk directory: leave out text of its TEST documents")
    parser.add_argument("--warmup", type=Path, default=Path("corpus/dev.spacy"), help="DocBin of warm-up texts")
    parser.add_argument("--spacy-config", type=Path, default=Path("configs/spacy_ner.cfg"))
    parser.add_argument("--tokens", type=int, default=250_000, help="length of the stream")
    parser.add_argument("--rounds", type=int, default=2, help="passes per pipeline (alternating order)")
    parser.add_argument("--long-doc", type=int, default=50_000, help="tokens of the long document")
    parser.add_argument("--output", type=Path, help="write the figures as JSON")
    args = parser.parse_args()

    import tempfile

    texts = text_stream(args.text, args.tokens, args.ner_uk)
    with tempfile.TemporaryDirectory(prefix="speed_") as work:
        texts_file = Path(work) / "texts.json"
        texts_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf8")
        import spacy

        # the components before rnn_ner in MODEL (its sentence setter), given to spaCy's ner too
        model_config = spacy.util.load_config(args.model / "config.cfg")
        pipe_names = list(model_config["nlp"]["pipeline"])
        setters = json.dumps([(name, model_config["components"][name]["factory"])
                              for name in pipe_names[: pipe_names.index("rnn_ner")]])
        sources = {"rnn_ner": str(args.model), "rnn_ner_no_spans": str(args.model), "spacy_ner": str(args.spacy_config)}
        passes = {name: [] for name in PIPELINES}
        for round_ in range(args.rounds):
            shift = round_ % len(PIPELINES)
            for name in PIPELINES[shift:] + PIPELINES[:shift]:
                passes[name].append(run(PASS_SCRIPT, name, sources[name], str(args.warmup), str(texts_file), setters))

        tokenizer = spacy.blank("uk").tokenizer
        words = [t.text for text in texts for t in tokenizer(text)][: args.long_doc]
        words_file = Path(work) / "words.json"
        words_file.write_text(json.dumps(words, ensure_ascii=False), encoding="utf8")
        long_doc = {
            f"{which}{'' if sentencizer == 'yes' else '_without_sentencizer'}":
                run(LONG_DOC_SCRIPT, which, str(args.model), str(words_file), sentencizer)
            for sentencizer in ("yes", "no") for which in ("rnn_ner", "rnn_ner_no_spans")
        }
    wps = {name: [p["words"] / p["seconds"] for p in runs] for name, runs in passes.items()}
    median = {name: statistics.median(values) for name, values in wps.items()}
    n_words = passes["rnn_ner"][0]["words"]
    report = {
        "text": str(args.text),
        "texts": len(texts),
        "words": n_words,
        "rounds": args.rounds,
        "words_per_s": {name: round(value) for name, value in median.items()},
        "passes_words_per_s": {name: [round(x) for x in values] for name, values in wps.items()},
        "ratio": round(median["rnn_ner"] / median["spacy_ner"], 2),
        "ratio_no_spans": round(median["rnn_ner_no_spans"] / median["spacy_ner"], 2),
        # each component's own time, median over the rounds
        "ms_per_1000_words": {
            name: {part: round(1000 * statistics.median(p["components"][part] for p in runs) / n_words * 1000, 1)
                   for part in runs[0]["components"]}
            for name, runs in passes.items()
        },
        "long_doc_tokens": len(words),
        "long_doc": {name: {"seconds": round(r["seconds"], 2), "extra_peak_rss_mib": round(r["extra_peak_rss_mib"])}
                     for name, r in long_doc.items()},
    }
    print(json.dumps(report, indent=1))
    if args.output:
        args.output.write_text(json.dumps(report, indent=1), encoding="utf8")


if __name__ == "__main__":
    main()
