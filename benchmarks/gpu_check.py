"""The GPU check of the default model, one call on a GPU machine (see gpu_check.sh).

    python benchmarks/gpu_check.py [--gpu-id 0] [--corpus corpus] [--resources resources]
        [--steps 1000] [--output metrics/gpu_check.json] [--set KEY=JSON ...]

1. ``tests/test_gpu.py`` (pytest; the GPU tests skip without CUDA);
2. ``spacy train`` of ``--config`` for a fixed number of updates, with and without
   ``mixed_precision``, each in a fresh process: seconds per 1,000 updates (updates 1 to
   ``--steps``, no evaluation in between), peak GPU memory (torch's allocator, which
   also serves CuPy with ``gpu_allocator = "pytorch"``) and the dev scores at the end;
3. inference words/s of the fp32-trained pipeline on the TEST texts at batch sizes
   64, 256 and 1,024 (after a warm-up pass), with its parts recorded (vectors table,
   word lists, output: the shipped config has floret vectors, word lists and a CRF);
4. that pipeline loaded in a process that cannot see the GPU: its entities on the TEST
   texts compared with the GPU's.

All figures go to one JSON file. With ``--gpu-id -1`` everything runs on the CPU (use
small ``--steps``/limits), so the script itself is tested without a GPU.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

HERE = Path(__file__).resolve()
BATCH_SIZES = (64, 256, 1024)
STEP_TIMES: List[float] = []


def run_json(args: List[str], env: Dict[str, str] = None) -> Dict[str, Any]:
    """Run this script's subcommand in a fresh process; its last stdout line is JSON."""
    proc = subprocess.run(
        [sys.executable, str(HERE)] + args, capture_output=True, text=True, env=env or dict(os.environ)
    )
    if proc.returncode != 0:
        raise SystemExit(f"gpu_check {args[0]} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def use_device(gpu_id: int) -> None:
    import spacy

    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    else:
        spacy.require_cpu()


def peak_gpu_mib(gpu_id: int):
    import torch

    if gpu_id < 0:
        return None
    return round(torch.cuda.max_memory_allocated(gpu_id) / 2**20)


# Subcommands (each in its own process) ----------------------------------------------


def step_timer():
    """``[training.before_update]`` callback: the time at each update."""
    def before_update(nlp, info: Dict[str, Any]) -> None:
        STEP_TIMES.append(time.perf_counter())

    return before_update


def train(opts) -> Dict[str, Any]:
    import spacy
    import torch
    from spacy.cli.train import train as spacy_train
    from spacy.util import registry

    registry.callbacks.register("gpu_check.step_timer.v1", func=step_timer)
    config = spacy.util.load_config(opts.config, interpolate=False)
    config["training"]["before_update"] = {"@callbacks": "gpu_check.step_timer.v1"}
    work = Path(opts.work)
    config_path = work / f"config_{opts.name}.cfg"
    config.to_disk(config_path)
    overrides = {
        "paths.train": str(Path(opts.corpus) / "train.spacy"),
        "paths.dev": str(Path(opts.corpus) / "dev.spacy"),
        "paths.vectors": str(Path(opts.resources) / "vectors"),
        "paths.lexicon": str(Path(opts.resources) / "lexicons"),
        "paths.log": None,
        "training.max_steps": opts.steps,
        "training.eval_frequency": opts.steps,
        "training.patience": 0,
        "corpora.train.limit": opts.train_limit,
        "corpora.dev.limit": opts.dev_limit,
        "components.rnn_ner.model.mixed_precision": opts.mixed_precision,
    }
    overrides.update({key: json.loads(value) for key, value in (s.split("=", 1) for s in opts.set)})
    use_device(opts.gpu_id)
    if opts.gpu_id >= 0:
        torch.cuda.reset_peak_memory_stats(opts.gpu_id)
    start = time.perf_counter()
    spacy_train(config_path, work / opts.name, use_gpu=opts.gpu_id, overrides=overrides)
    total = time.perf_counter() - start
    # before_update of step 1 comes after the evaluation at step 0; no evaluation runs
    # until after the update of step ``steps``
    timed = STEP_TIMES[opts.steps] - STEP_TIMES[1]
    meta = json.loads((work / opts.name / "model-last" / "meta.json").read_text(encoding="utf8"))
    scores = meta["performance"]  # the evaluation after the last update
    return {
        "mixed_precision": opts.mixed_precision,
        "updates": opts.steps,
        "seconds_per_1000_updates": round(timed / (opts.steps - 1) * 1000, 1),
        "total_seconds": round(total, 1),
        "peak_gpu_mib": peak_gpu_mib(opts.gpu_id),
        "dev_ents_f": scores.get("ents_f"),
        "dev_ents_macro_f": scores.get("ents_macro_f"),
        "model": str(work / opts.name / "model-last"),
    }


def test_texts(opts) -> List[str]:
    import spacy
    from spacy.tokens import DocBin

    docs = DocBin().from_disk(Path(opts.corpus) / "test.spacy").get_docs(spacy.blank("uk").vocab)
    texts = [doc.text for doc in docs]
    return texts[: opts.test_limit] if opts.test_limit else texts


def ents_of(docs) -> List[List]:
    return [[[e.start_char, e.end_char, e.label_] for e in doc.ents] for doc in docs]


def infer(opts) -> Dict[str, Any]:
    import spacy
    import torch

    use_device(opts.gpu_id)
    torch.set_num_threads(1)
    nlp = spacy.load(opts.model)
    texts = test_texts(opts)
    ents = ents_of(nlp.pipe(texts, batch_size=64))  # warm-up pass; its entities are compared
    Path(opts.work, "gpu_ents.json").write_text(json.dumps(ents), encoding="utf8")
    result: Dict[str, Any] = {"texts": len(texts)}
    for batch_size in BATCH_SIZES:
        n_words = 0
        if opts.gpu_id >= 0:
            torch.cuda.synchronize()
        start = time.perf_counter()
        for doc in nlp.pipe(texts, batch_size=batch_size):
            n_words += len(doc)
        seconds = time.perf_counter() - start
        result[f"words_per_s_batch_{batch_size}"] = round(n_words / seconds)
    result["words"] = n_words
    result["peak_gpu_mib"] = peak_gpu_mib(opts.gpu_id)
    result["model"] = model_parts(nlp)
    return result


def model_parts(nlp) -> Dict[str, Any]:
    """What the checked model holds: its vectors table, word lists and output layer."""
    ner = nlp.get_pipe("rnn_ner")
    lexicons = [node for node in ner.model.walk() if node.name == "lexicon_features"]
    return {
        "vectors": list(nlp.vocab.vectors.shape),
        "vectors_mode": nlp.vocab.vectors.mode,
        "word_lists": sum(len(node.attrs["entries"]) for node in lexicons),
        "output": "crf" if ner.model.has_ref("crf") else "softmax",
    }


def cpu_load(opts) -> Dict[str, Any]:
    import spacy
    import torch

    from spacy_rnn_ner.layers.packed_rnn import torch_module

    assert opts.gpu_id < 0 or not torch.cuda.is_available(), "the GPU should be hidden here"
    spacy.require_cpu()
    nlp = spacy.load(opts.model)
    devices = sorted({p.device.type for node in nlp.get_pipe("rnn_ner").model.walk() if node.shims
                      for p in torch_module(node).parameters()})
    cpu_ents = ents_of(nlp.pipe(test_texts(opts), batch_size=64))
    gpu_ents = json.loads(Path(opts.work, "gpu_ents.json").read_text(encoding="utf8"))
    same_docs = sum(a == b for a, b in zip(cpu_ents, gpu_ents))
    common = sum(len({tuple(e) for e in a} & {tuple(e) for e in b}) for a, b in zip(cpu_ents, gpu_ents))
    return {
        "torch_devices": devices,
        "docs": len(cpu_ents),
        "docs_with_same_entities": same_docs,
        "entities_gpu": sum(map(len, gpu_ents)),
        "entities_cpu": sum(map(len, cpu_ents)),
        "entities_in_both": common,
    }


def run_tests(opts) -> Dict[str, Any]:
    if opts.skip_tests:
        return {"skipped": True}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(HERE.parent.parent), os.environ.get("PYTHONPATH")])))
    if opts.gpu_id >= 0:
        env["CUDA_VISIBLE_DEVICES"] = env.get("CUDA_VISIBLE_DEVICES", str(opts.gpu_id))
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(HERE.parent.parent / "tests" / "test_gpu.py"), "-q", "-rs",
         "-p", "no:cacheprovider"], capture_output=True, text=True, env=env, cwd=str(HERE.parent.parent),
    )
    lines = proc.stdout.strip().splitlines()
    return {"exit_code": proc.returncode, "summary": lines[-1] if lines else "",
            "seconds": round(time.perf_counter() - start, 1),
            "output_tail": "\n".join(lines[-30:]) if proc.returncode else ""}


# Driver ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", default="all", choices=["all", "train", "infer", "cpu_load"])
    parser.add_argument("--gpu-id", type=int, default=0)
    parser.add_argument("--config", default="configs/rnn_ner.cfg")
    parser.add_argument("--corpus", default="corpus", help="directory with train/dev/test.spacy")
    parser.add_argument("--resources", default="resources", help="directory with vectors/ and lexicons/")
    parser.add_argument("--steps", type=int, default=1000, help="updates per training run")
    parser.add_argument("--train-limit", type=int, default=0, help="training docs (0: all)")
    parser.add_argument("--dev-limit", type=int, default=0, help="dev docs (0: all)")
    parser.add_argument("--test-limit", type=int, default=0, help="TEST texts for inference (0: all)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON", help="extra config override")
    parser.add_argument("--skip-tests", action="store_true", help="do not run tests/test_gpu.py")
    parser.add_argument("--output", default="metrics/gpu_check.json")
    # internal
    parser.add_argument("--work")
    parser.add_argument("--name")
    parser.add_argument("--model")
    parser.add_argument("--mixed-precision", type=json.loads, default=False)
    opts = parser.parse_args()
    if opts.command != "all":
        result = {"train": train, "infer": infer, "cpu_load": cpu_load}[opts.command](opts)
        print(json.dumps(result))
        return
    if opts.steps < 2:
        raise SystemExit("gpu_check: --steps must be at least 2.")
    started = time.perf_counter()
    report: Dict[str, Any] = {"gpu_id": opts.gpu_id, "config": opts.config, "steps": opts.steps}
    report["tests"] = run_tests(opts)
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as work:
        common = [
            "--gpu-id", str(opts.gpu_id), "--config", opts.config, "--corpus", opts.corpus,
            "--resources", opts.resources, "--steps", str(opts.steps), "--train-limit", str(opts.train_limit),
            "--dev-limit", str(opts.dev_limit), "--test-limit", str(opts.test_limit), "--work", work,
        ] + [arg for s in opts.set for arg in ("--set", s)]
        report["train"] = {
            name: run_json(["train"] + common + ["--name", name, "--mixed-precision", json.dumps(mixed)])
            for name, mixed in (("fp32", False), ("mixed_precision", True))
        }
        model = report["train"]["fp32"]["model"]
        report["inference"] = run_json(["infer"] + common + ["--model", model])
        hidden = dict(os.environ, CUDA_VISIBLE_DEVICES="")
        report["loaded_on_cpu"] = run_json(["cpu_load"] + common + ["--model", model], env=hidden)
        for run in report["train"].values():
            run.pop("model")
        report["model"] = report["inference"].pop("model")
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    Path(opts.output).parent.mkdir(parents=True, exist_ok=True)
    Path(opts.output).write_text(json.dumps(report, indent=1), encoding="utf8")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
