"""Speed and memory of a trained rnn_ner pipeline against spaCy's `ner`, in one run.

    python benchmarks/speed.py MODEL corpus/test.spacy [--warmup corpus/dev.spacy] [--spacy-config configs/spacy_ner.cfg]

- words/s of ``nlp.pipe`` over the texts of a DocBin (e.g. the ner-uk TEST documents),
  one thread each, for MODEL and for spaCy's built-in ``ner`` (the pipeline of
  ``--spacy-config``, initialized on the warm-up docs: its speed does not depend on
  training), both with a ``sentencizer`` first; runs alternate, the median is reported;
- one 50,000-token document: seconds and extra peak RSS, each in a fresh process
  (tracemalloc cannot see torch's allocator).
"""
import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

LONG_DOC_SCRIPT = """
import sys, time, torch, spacy
from spacy.tokens import Doc
torch.set_num_threads(1)
nlp = spacy.load(sys.argv[1])
words = [t.text for doc in spacy.tokens.DocBin().from_disk(sys.argv[2]).get_docs(nlp.vocab) for t in doc]
words = (words * (50000 // len(words) + 1))[:50000]
nlp(Doc(nlp.vocab, words=words[:2000]))  # warm up
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])
open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to the current RSS
before = status("VmRSS:")
start = time.perf_counter()
doc = nlp(Doc(nlp.vocab, words=words))
seconds = time.perf_counter() - start
after = status("VmHWM:")
print(seconds, (after - before) / 1024, len(doc.ents))
"""


def words_per_second(nlp, texts, n_words: int) -> float:
    start = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=64):
        pass
    return n_words / (time.perf_counter() - start)


def spacy_ner_pipeline(config_path: Path, docs):
    import spacy
    from spacy.training import Example

    config = spacy.util.load_config(config_path)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    if "sentencizer" not in nlp.pipe_names:
        nlp.add_pipe("sentencizer", first=True)
    examples = [Example(nlp.make_doc(doc.text), doc) for doc in docs]
    nlp.initialize(lambda: examples)
    return nlp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("data", type=Path, help="DocBin whose texts are annotated")
    parser.add_argument("--warmup", type=Path, help="DocBin of other texts to warm caches with")
    parser.add_argument("--spacy-config", type=Path, default=Path("configs/spacy_ner.cfg"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, help="write the figures as JSON")
    args = parser.parse_args()

    import spacy
    import torch
    from spacy.tokens import DocBin

    torch.set_num_threads(1)
    ours = spacy.load(args.model)
    docs = list(DocBin().from_disk(args.data).get_docs(ours.vocab))
    texts = [doc.text for doc in docs]
    n_words = sum(len(doc) for doc in docs)
    warm_docs = list(DocBin().from_disk(args.warmup or args.data).get_docs(ours.vocab))
    theirs = spacy_ner_pipeline(args.spacy_config, warm_docs[:50])
    cold = words_per_second(ours, texts, n_words)
    if args.warmup:
        for nlp in (ours, theirs):
            for _ in nlp.pipe([doc.text for doc in warm_docs], batch_size=64):
                pass
    figures = {"ours": [], "spacy_ner": []}
    for _ in range(args.repeats):
        figures["ours"].append(words_per_second(ours, texts, n_words))
        figures["spacy_ner"].append(words_per_second(theirs, texts, n_words))
    ours_wps = statistics.median(figures["ours"])
    theirs_wps = statistics.median(figures["spacy_ner"])
    result = subprocess.run(
        [sys.executable, "-c", LONG_DOC_SCRIPT, str(args.model), str(args.data)],
        capture_output=True, text=True, check=True,
    )
    seconds, extra_mib, _ = result.stdout.split()
    report = {
        "words": n_words,
        "rnn_ner_words_per_s": round(ours_wps),
        "rnn_ner_first_pass_words_per_s": round(cold),
        "spacy_ner_words_per_s": round(theirs_wps),
        "ratio": round(ours_wps / theirs_wps, 2),
        "doc_50k_seconds": round(float(seconds), 2),
        "doc_50k_extra_peak_rss_mib": round(float(extra_mib)),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(report, indent=1))
    if args.output:
        args.output.write_text(json.dumps(report, indent=1), encoding="utf8")


if __name__ == "__main__":
    main()
