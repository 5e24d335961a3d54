"""Speed and memory of a trained rnn_ner pipeline against spaCy's `ner`, on unseen text.

    python benchmarks/speed.py MODEL --text assets/brown-uk [--ner-uk assets/ner-uk]
        [--warmup corpus/dev.spacy] [--spacy-config configs/spacy_ner.cfg] [--tokens 250000]
        [--rounds 2] [--output FILE]

- words/s of ``nlp.pipe`` over ONE pass of a long stream of paragraphs (at least
  ``--tokens`` tokens) of raw text (``*.txt`` under ``--text``, e.g. brown-uk), files in a
  fixed shuffled order, one paragraph (line) per text. With ``--ner-uk``, files that
  share text with an ner-uk TEST document are left out (the pretraining-text filter);
  give it unless the copy is filtered already.
- Each pass runs in a fresh process (so no cache of a pass carries over to the next), one
  thread, after a warm-up on ``--warmup`` texts (e.g. the dev set); rnn_ner (MODEL) and
  spaCy's built-in ``ner`` (the pipeline of ``--spacy-config``, initialized on the warm-up
  docs: its speed does not depend on training), both with a ``sentencizer`` first, in
  the same run, alternating which goes first; the median over ``--rounds`` is reported.
- one document of the stream's first 50,000 tokens: seconds and peak RSS over the RSS
  before it (VmHWM), in a fresh process (tracemalloc cannot see torch's allocator).
"""
import argparse
import json
import random
import statistics
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

PASS_SCRIPT = """
import json, sys, time, torch, spacy
from spacy.tokens import DocBin
torch.set_num_threads(1)
which, model, warmup, texts_file = sys.argv[1:5]
if which == "rnn_ner":
    nlp = spacy.load(model)
else:
    from spacy.training import Example
    nlp = spacy.util.load_model_from_config(spacy.util.load_config(model), auto_fill=True)
    if "sentencizer" not in nlp.pipe_names:
        nlp.add_pipe("sentencizer", first=True)
warm = [doc.text for doc in DocBin().from_disk(warmup).get_docs(nlp.vocab)]
if which != "rnn_ner":
    nlp.initialize(lambda: [Example(nlp.make_doc(t), nlp.make_doc(t)) for t in warm[:50]])
for _ in nlp.pipe(warm, batch_size=64):
    pass
texts = json.loads(open(texts_file, encoding="utf8").read())
n_words = 0
start = time.perf_counter()
for doc in nlp.pipe(texts, batch_size=64):
    n_words += len(doc)
seconds = time.perf_counter() - start
print(json.dumps({"words": n_words, "seconds": seconds}))
"""

LONG_DOC_SCRIPT = """
import json, sys, time, torch, spacy
from spacy.tokens import Doc
from spacy_rnn_ner.report.memory import extra_peak_rss
torch.set_num_threads(1)
nlp = spacy.load(sys.argv[1])
words = json.loads(open(sys.argv[2], encoding="utf8").read())
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
        pipelines = {"rnn_ner": str(args.model), "spacy_ner": str(args.spacy_config)}
        passes = {name: [] for name in pipelines}
        for round_ in range(args.rounds):
            order = list(pipelines) if round_ % 2 == 0 else list(pipelines)[::-1]
            for name in order:
                passes[name].append(run(PASS_SCRIPT, name, pipelines[name], str(args.warmup), str(texts_file)))
        import spacy

        tokenizer = spacy.blank("uk").tokenizer
        words = [t.text for text in texts for t in tokenizer(text)][: args.long_doc]
        words_file = Path(work) / "words.json"
        words_file.write_text(json.dumps(words, ensure_ascii=False), encoding="utf8")
        long_doc = run(LONG_DOC_SCRIPT, str(args.model), str(words_file))
    wps = {name: [p["words"] / p["seconds"] for p in runs] for name, runs in passes.items()}
    ours, theirs = statistics.median(wps["rnn_ner"]), statistics.median(wps["spacy_ner"])
    report = {
        "text": str(args.text),
        "texts": len(texts),
        "words": passes["rnn_ner"][0]["words"],
        "rounds": args.rounds,
        "rnn_ner_words_per_s": round(ours),
        "spacy_ner_words_per_s": round(theirs),
        "rnn_ner_passes": [round(x) for x in wps["rnn_ner"]],
        "spacy_ner_passes": [round(x) for x in wps["spacy_ner"]],
        "ratio": round(ours / theirs, 2),
        "long_doc_tokens": len(words),
        "long_doc_seconds": round(long_doc["seconds"], 2),
        "long_doc_extra_peak_rss_mib": round(long_doc["extra_peak_rss_mib"]),
    }
    print(json.dumps(report, indent=1))
    if args.output:
        args.output.write_text(json.dumps(report, indent=1), encoding="utf8")


if __name__ == "__main__":
    main()
