"""Decoding a long segment in windows against decoding it whole, on a trained pipeline.

    python benchmarks/decode_windows.py MODEL --text assets/brown-uk [--ner-uk assets/ner-uk]
        [--tokens 50000]

One document of the first ``--tokens`` tokens of the speed benchmark's stream (one
segment: the components before ``rnn_ner`` are not run), predicted with confidences
twice each way, alternating: Viterbi and forward-backward in the RNN's windows (as
shipped) and over the whole segment. Prints the seconds of each pass, how many entities
the two ways share and the largest difference of a shared entity's confidence.
"""
import argparse
import json
import sys
import time
import types
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--text", type=Path, default=Path("assets/brown-uk"))
    parser.add_argument("--ner-uk", type=Path)
    parser.add_argument("--tokens", type=int, default=50_000)
    args = parser.parse_args()

    import spacy
    import torch
    from spacy.tokens import Doc

    from spacy_rnn_ner.layers import crf, long_segments

    sys.path.insert(0, str(Path(__file__).parent))
    from speed import text_stream

    torch.set_num_threads(1)
    nlp = spacy.load(args.model)
    words = [t.text for text in text_stream(args.text, args.tokens, args.ner_uk) for t in nlp.make_doc(text)]
    words = words[: args.tokens]
    ner = nlp.get_pipe("rnn_ner")
    ner(Doc(nlp.vocab, words=words[:2000]))  # warm up
    whole = types.SimpleNamespace(plan_calls=long_segments.plan_calls, MAX_LENGTH=len(words) + 1,
                                  CONTEXT=long_segments.CONTEXT)
    results, seconds = {}, {"windows": [], "whole": []}
    for way in ("windows", "whole", "windows", "whole"):
        crf.long_segments = whole if way == "whole" else long_segments
        start = time.perf_counter()
        doc = ner(Doc(nlp.vocab, words=words))
        seconds[way].append(round(time.perf_counter() - start, 2))
        group = doc.spans[ner.spans_key]
        results[way] = {(s.start, s.end, s.label_): float(score) for s, score in zip(group, group.attrs["scores"])}
    crf.long_segments = long_segments
    windows, whole_ = results["windows"], results["whole"]
    shared = windows.keys() & whole_.keys()
    print(json.dumps({
        "tokens": len(words), "seconds": seconds, "entities": {"windows": len(windows), "whole": len(whole_),
                                                               "shared": len(shared)},
        "max_confidence_difference": max((abs(windows[k] - whole_[k]) for k in shared), default=0.0),
    }, indent=1))


if __name__ == "__main__":
    main()
