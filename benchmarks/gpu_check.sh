#!/usr/bin/env bash
# The GPU check (issue 14), one call on a GPU machine, about 5-8 minutes on one GPU:
#   benchmarks/gpu_check.sh [--gpu-id 0] [--corpus corpus] [--resources resources] [--steps 1000]
#                           [--output metrics/gpu_check.json] [...]   (all options: --help)
# runs tests/test_gpu.py, two fixed-length trainings of configs/rnn_ner.cfg (with and without
# mixed_precision), inference words/s at batch sizes 64/256/1,024 on the TEST texts, and the
# GPU-trained pipeline loaded on the CPU with its entities compared; writes one JSON file.
# With --gpu-id -1 it runs on the CPU (give small --steps and limits).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec python benchmarks/gpu_check.py all "$@"
