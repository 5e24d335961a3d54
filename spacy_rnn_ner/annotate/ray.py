"""``annotate --engine ray``: the same annotation on Ray Data.

Files are read with ``ray.data.read_binary_files`` and parsed by the readers of
:mod:`spacy_rnn_ner.annotate.local` (so formats, metadata, line numbers and bad-line handling are
the same); ``map_batches`` runs a callable class holding one pipeline per actor
(``concurrency`` actors, one GPU each when asked). Rows come back to the driver in input
order and are written by the same sinks, atomically. Ray parallelises reading over input
files: shard a huge single file to read it in parallel. ``pip install spacy-rnn-ner[ray]``.
"""
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Union

from ..errors import InputError, import_optional
from ..outputs import INTERRUPT_SIGNALS
from .local import (
    AnnotateError,
    Record,
    Annotated,
    Summary,
    check_paths,
    doc_counts,
    extensions_reported,
    find_spans_key,
    input_files,
    open_sink,
    output_record,
    pipe_records,
    records_of_bytes,
    screen,
    write_annotated,
)


class PipelineActor:
    """One pipeline per Ray actor; maps a batch of JSON records to annotated rows."""

    def __init__(self, model: str, use_gpu: bool, batch_size: int, keep_docs: bool):
        import spacy

        if use_gpu:
            spacy.require_gpu(0)  # Ray sets CUDA_VISIBLE_DEVICES to the actor's GPU
        self.nlp = spacy.load(model)
        self.spans_key = find_spans_key(self.nlp)
        self.batch_size = batch_size
        self.keep_docs = keep_docs

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, List[Any]]:
        records = [Record.from_json(text) for text in batch["record"]]
        # too long for the pipeline: the driver's ``screen`` reports the record
        list(screen([r for r in records if r.text is not None], Summary(), True,
                    lambda line: None, self.nlp.max_length))
        is_good = [not r.error and (r.text is not None or r.words is not None) for r in records]
        good = [r for r, ok in zip(records, is_good) if ok]
        docs = iter(pipe_records(self.nlp, good, batch_size=self.batch_size))
        out: Dict[str, List[Any]] = {"record": [r.to_json() for r in records], "output": [], "tokens": [], "words": [], "doc": []}
        for record, ok in zip(records, is_good):
            if ok:
                doc, _ = next(docs)
                n_tokens, n_words = doc_counts(doc)
                result = json.dumps(output_record(doc, record, self.spans_key), ensure_ascii=False, default=str)
                out["output"].append(result)
                out["tokens"].append(n_tokens)
                out["words"].append(n_words)
                out["doc"].append(doc.to_bytes(exclude=["tensor"]) if self.keep_docs else b"")
            else:
                out["output"].append("")
                out["tokens"].append(0)
                out["words"].append(0)
                out["doc"].append(b"")
        return out


#: seconds a Ray cluster has to accept a connection (Ray itself would retry for ever)
CONNECT_TIMEOUT = 5.0


def check_ray_address(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """An :class:`InputError` naming ``--ray-address`` unless something accepts a
    connection at its ``HOST:PORT`` (or ``ray://HOST:PORT``) within ``timeout`` seconds;
    ``auto`` and ``local`` are left to Ray."""
    if address in ("auto", "local"):
        return
    host, sep, port = address.split("://", 1)[-1].rpartition(":")
    if not sep or not host or not port.isdigit():
        raise InputError(f"--ray-address {address}: expected HOST:PORT, ray://HOST:PORT or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        raise InputError(f"--ray-address {address}: no Ray cluster answers there "
                         f"({err.strerror or err}); start one (ray start --head) or leave "
                         "--ray-address out for a local Ray") from None


def init_ray(ray_address: Optional[str], concurrency: int) -> None:
    """Connect to ``ray_address``, or start local Ray (no dashboard) with at least one CPU
    slot more than the actors take, so that reading never waits for a free slot. Ray's
    native handler of SIGTERM (a stack dump and an abort) is replaced by the command's
    own again: an interrupt cleans up and ends with one line."""
    ray = import_optional("ray", "ray", "annotate --engine ray", "ray[data]")

    if ray.is_initialized():
        return
    handlers = {signum: signal.getsignal(signum) for signum in INTERRUPT_SIGNALS}
    if ray_address:
        ray.init(address=ray_address, log_to_driver=False)
    else:
        num_cpus = max(os.cpu_count() or 1, concurrency + 1)
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
    for signum, handler in handlers.items():
        if handler is not None:
            try:
                signal.signal(signum, handler)
            except ValueError:  # not the main thread
                pass


def annotate_file_ray(
    model: Union[str, Path],
    input_path: Union[str, Path],
    output_path: Union[str, Path],
    *,
    batch_size: int = 64,
    concurrency: int = 2,
    num_gpus: float = 0,
    ray_address: Optional[str] = None,
    skip_bad_lines: bool = False,
    report: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    progress: Optional[bool] = None,
) -> Summary:
    """Annotate ``input_path`` into ``output_path`` with ``concurrency`` Ray actors."""
    kind = check_paths(input_path, output_path, model)
    if ray_address:
        check_ray_address(ray_address)
    ray = import_optional("ray", "ray", "annotate --engine ray", "ray[data]")
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

    files = input_files(input_path)
    names = {str(f.resolve()): (str(f), f.relative_to(input_path).as_posix() if kind == "dir" else None)
             for f in files}
    sink = open_sink(output_path)
    keep_docs = Path(output_path).suffix.lower() == ".spacy"
    model = str(Path(model).resolve()) if Path(model).exists() else str(model)
    summary = Summary()

    def annotated() -> Iterator[Annotated]:
        init_ray(ray_address, concurrency)
        ray.data.DataContext.get_current().execution_options.preserve_order = True
        ray.data.DataContext.get_current().enable_progress_bars = False

        def parse(row: Dict[str, Any]) -> List[Dict[str, str]]:
            name, relative = names[str(Path(row["path"]).resolve())]
            return [{"record": r.to_json()} for r in records_of_bytes(kind, row["bytes"], name, relative)]

        dataset = ray.data.read_binary_files([str(f.resolve()) for f in files], include_paths=True)
        dataset = dataset.flat_map(parse).repartition(target_num_rows_per_block=batch_size).map_batches(
            PipelineActor,
            fn_constructor_kwargs={"model": model, "use_gpu": num_gpus > 0, "batch_size": batch_size,
                                   "keep_docs": keep_docs},
            batch_size=batch_size,
            batch_format="default",
            compute=ray.data.ActorPoolStrategy(size=concurrency),
            num_cpus=1,
            num_gpus=num_gpus,
        )
        vocab = Vocab()
        records = screen(_rows_as_records(dataset), summary, skip_bad_lines, report)
        for record in records if keep_docs else extensions_reported(records, report):
            row = record.row  # type: ignore[attr-defined]
            doc = Doc(vocab).from_bytes(row["doc"]) if keep_docs else None
            yield doc, json.loads(row["output"]), int(row["tokens"]), int(row["words"])

    return write_annotated(sink, annotated(), summary, progress, str(input_path))


def _rows_as_records(dataset):
    """Each row's input record, carrying the annotated row (``screen`` filters records)."""
    for row in dataset.iter_rows():
        record = Record.from_json(row["record"])
        record.row = row  # type: ignore[attr-defined]
        yield record
