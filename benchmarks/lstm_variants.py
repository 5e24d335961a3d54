"""The main job's bidirectional LSTM on one thread, run the ways torch offers on a CPU.

    python benchmarks/lstm_variants.py [--hidden 256] [--input 172] [--repeats 10]

Microseconds per token of one batch of sentence-like sequences (lengths drawn from a
log-normal around 16 tokens, 300 sequences), random weights, inference mode, one thread:
a ``PackedSequence`` (what the model runs), the same as a padded batch of equal lengths
(no padding wasted; oneDNN's LSTM where torch uses it) with oneDNN on and off, and int8
dynamic quantization (``torch.ao.quantization.quantize_dynamic``) of the packed LSTM.
"""
import argparse
import time
import warnings

import numpy
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence


def per_token(run, n_tokens: int, repeats: int) -> float:
    run()
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    return (time.perf_counter() - start) / repeats / n_tokens * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--input", type=int, default=172)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    lengths = numpy.clip(numpy.random.default_rng(0).lognormal(2.8, 0.7, size=300).astype(int), 1, 200)
    lengths = torch.as_tensor(sorted(lengths.tolist(), reverse=True))
    n_tokens = int(lengths.sum())
    lstm = nn.LSTM(args.input, args.hidden, bidirectional=True).eval()
    padded = torch.randn(int(lengths[0]), len(lengths), args.input)
    packed = pack_padded_sequence(padded, lengths)
    # the same number of tokens as equal-length sequences: a padded batch without padding
    width = int(lengths.float().mean().round())
    equal = torch.randn(width, n_tokens // width, args.input)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantized = torch.ao.quantization.quantize_dynamic(lstm, {nn.LSTM}, dtype=torch.qint8)
    with torch.inference_mode():
        rows = {"packed (the model)": per_token(lambda: lstm(packed), n_tokens, args.repeats)}
        rows["padded, equal lengths, oneDNN"] = per_token(lambda: lstm(equal), equal.shape[0] * equal.shape[1],
                                                          args.repeats)
        with torch.backends.mkldnn.flags(enabled=False):
            rows["padded, equal lengths, no oneDNN"] = per_token(lambda: lstm(equal), equal.shape[0] * equal.shape[1],
                                                                 args.repeats)
        rows["packed, int8 dynamic quantization"] = per_token(lambda: quantized(packed), n_tokens, args.repeats)
    print(f"bidirectional LSTM {args.input} -> 2 x {args.hidden}, {n_tokens} tokens in {len(lengths)} sequences")
    for name, value in rows.items():
        print(f"{name}: {value:.1f} us/token")


if __name__ == "__main__":
    main()
