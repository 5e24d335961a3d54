"""Throughput of ``annotate`` on one machine: single process, ``n_process`` and Ray.

    python benchmarks/annotate_throughput.py MODEL corpus/test.spacy OUT_DIR
        [--n-process 2] [--concurrency 2] [--batch-size 64] [--engines spacy,n_process,ray]

Writes the TEST sentences as a text file (one sentence per line; the annotation input),
annotates it with each engine into OUT_DIR and prints a Markdown table: documents, words,
wall seconds (model loading excluded for the spaCy engines; Ray start-up, actor start-up
and model loading included for Ray) and documents/s, words/s. Not a test.
"""
import argparse
import time
from pathlib import Path

import spacy
from spacy.tokens import DocBin

from spacy_rnn_ner.annotate.local import annotate_file


def write_sentences(docbin: Path, out: Path, lang: str) -> int:
    nlp = spacy.blank(lang)
    lines = [sent.text.replace("\n", " ") for doc in DocBin().from_disk(docbin).get_docs(nlp.vocab)
             for sent in doc.sents]
    out.write_text("\n".join(lines) + "\n", encoding="utf8")
    return len(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("docbin", type=Path, help="DocBin whose sentences are annotated (e.g. corpus/test.spacy)")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--n-process", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--engines", default="spacy,n_process,ray")
    parser.add_argument("--lang", default="uk")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    text = args.out_dir / "input.txt"
    n_lines = write_sentences(args.docbin, text, args.lang)
    print(f"{n_lines} sentences from {args.docbin} -> {text}")
    rows = []
    nlp = spacy.load(args.model)
    for engine in args.engines.split(","):
        out = args.out_dir / f"{engine}.jsonl"
        start = time.perf_counter()
        if engine == "spacy":
            summary = annotate_file(nlp, text, out, batch_size=args.batch_size, progress=False)
            label = "spaCy, 1 process"
        elif engine == "n_process":
            summary = annotate_file(nlp, text, out, batch_size=args.batch_size, n_process=args.n_process,
                                    progress=False)
            label = f"spaCy, n_process={args.n_process}"
        elif engine == "ray":
            from spacy_rnn_ner.annotate.ray import annotate_file_ray

            summary = annotate_file_ray(args.model, text, out, batch_size=args.batch_size,
                                        concurrency=args.concurrency, progress=False)
            label = f"Ray Data, {args.concurrency} actors"
        else:
            raise SystemExit(f"unknown engine {engine}")
        wall = time.perf_counter() - start
        rows.append((label, summary.documents, summary.words, wall, summary.documents / wall, summary.words / wall))
        print(f"{label}: {wall:.1f} s", flush=True)
    outputs = {(args.out_dir / f"{e}.jsonl").read_text(encoding="utf8") for e in args.engines.split(",")}
    print(f"outputs identical: {len(outputs) == 1}\n")
    print("| engine | documents | words | seconds | documents/s | words/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, docs, words, wall, dps, wps in rows:
        print(f"| {label} | {docs:,} | {words:,} | {wall:.1f} | {dps:,.0f} | {wps:,.0f} |")


if __name__ == "__main__":
    main()
