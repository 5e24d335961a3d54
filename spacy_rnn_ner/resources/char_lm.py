"""Train a forward or backward character language model on a text file (the model itself:
:mod:`spacy_rnn_ner.layers.char_lm_model`; its use as features: :mod:`spacy_rnn_ner.layers.char_lm_features`).

``python -m spacy_rnn_ner train-char-lm TEXT OUTPUT --direction forward|backward``

The text (minus its last ``--dev-chars`` characters, held out for the dev
bits-per-character) is cut into ``--batch-size`` parallel character streams; each step
reads the next ``--seq-length`` characters of every stream (truncated backpropagation
through time, the LSTM state carried from step to step). Every ``--checkpoint-minutes``
the dev bpc is measured, the best model so far is written to OUTPUT, and a checkpoint
(model, optimizer, position, LSTM state) to ``OUTPUT.ckpt``; ``--resume`` continues from
it. Training stops at ``--max-minutes`` (this run's wall time), ``--max-epochs`` or
``--max-steps``, whichever comes first.
"""
import math
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import torch
from torch.nn import functional as F

from ..errors import InputError
from ..file_kinds import torch_output
from ..io import AtomicFile, OutputFile, check_outputs, outputs_one_by_one, read_text
from ..layers.char_lm_model import FORMAT, DIRECTIONS, CharLanguageModel, LSTMState, vocab_from_text

CHECKPOINT_FORMAT = "spacy_rnn_ner.char_lm.checkpoint.v1"
#: the model and the checkpoint this command writes: a user's own torch file is not replaced
CHAR_LM_FILE = torch_output("train-char-lm", (FORMAT, CHECKPOINT_FORMAT))
OPTIMIZERS = ("adam", "sgd")


@dataclass
class TrainConfig:
    direction: str = "forward"
    embed_width: int = 64
    hidden_width: int = 256
    dropout: float = 0.1
    seq_length: int = 250
    batch_size: int = 32
    optimizer: str = "adam"
    learn_rate: float = 0.01
    anneal_factor: float = 0.5
    grad_clip: float = 1.0
    min_count: int = 2
    dev_chars: int = 100_000
    max_minutes: float = 0.0
    max_epochs: int = 0
    max_steps: int = 0
    checkpoint_minutes: float = 5.0
    checkpoint_steps: int = 0
    log_seconds: float = 30.0
    gpu_id: int = -1
    seed: int = 0

    def _check_memory(self) -> None:
        """An :class:`InputError` naming the widths when the LSTM's weights, their gradients
        and Adam's two moments (4 floats per weight) cannot fit in the machine's memory:
        torch would fail in its allocator with a traceback."""
        from .vectors import _size, memory_size

        total = memory_size()
        needed = 4 * 4 * 4 * self.hidden_width * (self.embed_width + self.hidden_width + 2)
        if total is not None and needed > total:
            raise InputError(f"--hidden-width {self.hidden_width} with --embed-width {self.embed_width}: "
                             f"the LSTM needs about {_size(needed)} of memory to train, more than this "
                             f"machine has ({_size(total)}); lower --hidden-width")

    def check(self) -> None:
        if self.direction not in DIRECTIONS:
            raise InputError(f"--direction must be one of {', '.join(DIRECTIONS)}, got {self.direction!r}")
        if self.optimizer not in OPTIMIZERS:
            raise InputError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        for name in ("embed_width", "hidden_width", "seq_length", "batch_size", "min_count", "dev_chars"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(f"--dropout must be in [0, 1), got {self.dropout}")
        self._check_memory()
        # (option, lowest value, whether the lowest is allowed): NaN and infinity never are
        for name, lowest, closed in (("learn_rate", 0.0, False), ("grad_clip", 0.0, True),
                                     ("max_minutes", 0.0, True), ("checkpoint_minutes", 0.0, True),
                                     ("log_seconds", 0.0, True)):
            value = getattr(self, name)
            if not math.isfinite(value) or value < lowest or (value == lowest and not closed):
                raise InputError(f"--{name.replace('_', '-')} must be a finite number "
                                 f"{'of at least' if closed else 'above'} {lowest:g}, got {value}")
        if not (math.isfinite(self.anneal_factor) and 0.0 < self.anneal_factor <= 1.0):
            raise InputError(f"--anneal-factor must be in (0, 1] (1: no annealing), got "
                             f"{self.anneal_factor}")
        for name in ("max_epochs", "max_steps", "checkpoint_steps"):
            if getattr(self, name) < 0:
                raise InputError(f"--{name.replace('_', '-')} must be 0 or above, got {getattr(self, name)}")
        if self.max_minutes <= 0 and self.max_epochs <= 0 and self.max_steps <= 0:
            raise InputError("give a stopping point: --max-minutes, --max-epochs or --max-steps")


def resolve_device(gpu_id: int) -> torch.device:
    """``cuda:N`` for ``gpu_id >= 0`` (error when CUDA or that device is missing), else CPU."""
    if gpu_id < 0:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise InputError(f"--gpu-id {gpu_id} given but CUDA is not available (torch {torch.__version__})")
    if gpu_id >= torch.cuda.device_count():
        raise InputError(f"--gpu-id {gpu_id} given but only {torch.cuda.device_count()} CUDA device(s) exist")
    return torch.device(f"cuda:{gpu_id}")


def read_checkpoint(path: Path) -> Dict[str, Any]:
    """The content of a training checkpoint; an unreadable, truncated or foreign file is
    an :class:`InputError` naming it."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, pickle errors, not a torch file
        reason = " ".join(str(err).split()).split(". ")[0][:120]
        raise InputError(f"damaged or not a checkpoint ({type(err).__name__}"
                         + (f": {reason})" if reason else ")"), path) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise InputError("not a character LM checkpoint", path)
    missing = [k for k in ("lm", "optimizer", "progress", "config", "text", "rng") if k not in ckpt]
    if missing:
        raise InputError(f"damaged checkpoint (no {', '.join(missing)})", path)
    return ckpt


def checkpoint_path(output: Path) -> Path:
    return output.with_name(output.name + ".ckpt")


def split_text(text: str, dev_chars: int, path: Path) -> "tuple[str, str]":
    if len(text) < 2 * dev_chars:
        raise InputError(f"{len(text):,} characters, too short to hold out {dev_chars:,} "
                         "for dev (lower --dev-chars)", path)
    return text[:-dev_chars], text[-dev_chars:]


def check_parts(train_text: str, dev_text: str, dev_chars: int, path: Path) -> None:
    """An :class:`InputError` when the training part or the held-out dev part (the last
    ``dev_chars`` characters) of the text holds no letter: the model would learn, or be
    measured on, no letter at all."""
    for part, text in ((f"the training part (all but the last {dev_chars:,} characters)", train_text),
                       (f"the dev part (the last {dev_chars:,} characters, held out by --dev-chars)", dev_text)):
        if not any(ch.isalpha() for ch in text):
            raise InputError(f"{part} holds no letter: nothing for a character language model to "
                             "learn or be measured on; give more text with letters throughout, or "
                             "change --dev-chars", path)


def checked_vocab(train_text: str, min_count: int):
    """The characters of ``train_text`` seen at least ``min_count`` times; an
    :class:`InputError` naming ``--min-count`` when fewer than 2 of them, or no letter,
    remain (every character would be the unknown symbol, and the dev bpc a meaningless 0)."""
    vocab = vocab_from_text(train_text, min_count)
    chars = list(vocab.chars)[1:]  # without the unknown symbol
    if len(chars) < 2 or not any(ch.isalpha() for ch in chars):
        what = "no letter" if len(chars) >= 2 else f"{len(chars)} character{'s' if len(chars) != 1 else ''}"
        raise InputError(f"--min-count {min_count}: leaves {what} in the vocabulary (characters seen at "
                         "least that often in the training part); at least 2 characters, one of them a "
                         "letter, are needed: lower --min-count")
    return vocab


def to_streams(ids, n_streams: int, device: torch.device) -> torch.Tensor:
    """``(n_streams, len(ids) // n_streams)`` tensor: the text cut into parallel streams."""
    length = len(ids) // n_streams
    if length < 2:
        raise InputError(f"text too short for {n_streams} streams (lower --batch-size)")
    return torch.as_tensor(ids[: n_streams * length].reshape(n_streams, length), device=device)


def _detach(state: LSTMState) -> LSTMState:
    return (state[0].detach(), state[1].detach())


@torch.no_grad()
def bits_per_char(lm: CharLanguageModel, streams: torch.Tensor, seq_length: int) -> float:
    """Mean next-character cross-entropy over the streams, in bits."""
    total, n = 0.0, 0
    state: Optional[LSTMState] = None
    for start in range(0, streams.shape[1] - 1, seq_length):
        x = streams[:, start : start + seq_length]
        y = streams[:, start + 1 : start + seq_length + 1]
        x = x[:, : y.shape[1]]
        H, state = lm.net(x, state)
        logits = lm.net.logits(H)
        total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum"))
        n += y.numel()
    return total / max(n, 1) / math.log(2)


def _fmt_time(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _text_id(path: Path, text: str) -> Dict[str, Any]:
    return {"n_chars": len(text), "crc32": zlib.crc32(text.encode("utf8"))}


def train(text_path: Path, output: Path, config: TrainConfig, resume: bool = False,
          log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Train (or, with ``resume``, continue training) and write the best model to ``output``.

    Returns a summary: steps, epochs, characters read, chars/s, dev bpc, wall seconds.
    """
    config.check()
    with outputs_one_by_one():  # the best model and the checkpoint appear as they are made
        return _train(text_path, output, config, resume, log)


def _train(text_path: Path, output: Path, config: TrainConfig, resume: bool,
           log: Callable[[str], None]) -> Dict[str, Any]:
    device = resolve_device(config.gpu_id)
    text_path, output = Path(text_path), Path(output)
    if not text_path.exists():
        raise FileNotFoundError(f"text file not found: {text_path}")
    check_outputs([OutputFile(output, CHAR_LM_FILE), OutputFile(checkpoint_path(output), CHAR_LM_FILE)],
                  [text_path])
    text = read_text(text_path)
    if not any(ch.isalpha() for ch in text):
        raise InputError("holds no letter: nothing for a character language model to learn",
                         text_path)
    text_id = _text_id(text_path, text)
    ckpt_file = checkpoint_path(output)
    torch.manual_seed(config.seed)
    ckpt: Optional[Dict[str, Any]] = None
    if resume:
        if not ckpt_file.exists():
            raise FileNotFoundError(f"--resume given but no checkpoint at {ckpt_file}")
        ckpt = read_checkpoint(ckpt_file)
        if ckpt["text"] != text_id:
            raise InputError(f"was made on a different text than {text_path}", ckpt_file)
        try:
            saved = TrainConfig(**ckpt["config"])
        except TypeError as err:
            raise InputError(f"damaged checkpoint (config: {err})", ckpt_file) from None
        # the model's shape and the data layout come from the checkpoint
        for name in ("direction", "embed_width", "hidden_width", "dropout", "min_count",
                     "dev_chars", "batch_size", "seq_length", "optimizer"):
            if getattr(config, name) != getattr(saved, name):
                log(f"note: --{name.replace('_', '-')} {getattr(config, name)} ignored; the checkpoint "
                    f"has {getattr(saved, name)}")
                setattr(config, name, getattr(saved, name))
        try:
            lm = CharLanguageModel.from_dict(ckpt["lm"], str(ckpt_file))
        except (KeyError, TypeError, RuntimeError) as err:
            raise InputError(f"damaged checkpoint (model: {type(err).__name__})", ckpt_file) \
                from None
    train_text, dev_text = split_text(text, config.dev_chars, text_path)  # --dev-chars of a checkpoint
    if ckpt is None:
        check_parts(train_text, dev_text, config.dev_chars, text_path)
        lm = CharLanguageModel(checked_vocab(train_text, config.min_count), config.direction,
                               config.embed_width, config.hidden_width, config.dropout)
    lm.net.to(device)
    streams = to_streams(lm.encode(train_text), config.batch_size, device)
    dev_streams = to_streams(lm.encode(dev_text), min(config.batch_size, 8), device)
    del text, train_text
    params = [p for p in lm.net.parameters()]
    if config.optimizer == "adam":
        optimizer: torch.optim.Optimizer = torch.optim.Adam(params, lr=config.learn_rate)
    else:
        optimizer = torch.optim.SGD(params, lr=config.learn_rate)
    progress = {"step": 0, "epoch": 0, "position": 0, "chars": 0, "seconds": 0.0,
                "best_dev_bpc": float("inf"), "last_dev_bpc": float("inf"), "learn_rate": config.learn_rate}
    state: Optional[LSTMState] = None
    if ckpt is not None:
        try:
            optimizer.load_state_dict(ckpt["optimizer"])
            progress.update(ckpt["progress"])
            if ckpt.get("lstm_state"):
                state = tuple(t.to(device) for t in ckpt["lstm_state"])  # type: ignore[assignment]
            torch.set_rng_state(ckpt["rng"])
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as err:
            raise InputError(f"damaged checkpoint (training state: {type(err).__name__})",
                             ckpt_file) from None
        log(f"resumed from {ckpt_file} at step {progress['step']:,} (epoch {progress['epoch']}, "
            f"best dev bpc {progress['best_dev_bpc']:.4f})")
    for group in optimizer.param_groups:
        group["lr"] = progress["learn_rate"]

    steps_per_epoch = math.ceil((streams.shape[1] - 1) / config.seq_length)
    chars_per_step = config.batch_size * config.seq_length
    log(f"{config.direction} LM: {len(lm.vocab)} characters, embed {config.embed_width}, hidden "
        f"{config.hidden_width}, {sum(p.numel() for p in params):,} parameters, on {device}; "
        f"{streams.numel():,} training characters in {config.batch_size} streams "
        f"({steps_per_epoch:,} steps/epoch), {dev_streams.numel():,} dev characters")

    timing = {"eval": 0.0}

    def evaluate_and_save() -> None:
        t0 = time.time()
        dev_bpc = bits_per_char(lm, dev_streams, 1000)
        progress["last_dev_bpc"] = dev_bpc
        improved = dev_bpc < progress["best_dev_bpc"]
        if improved:
            progress["best_dev_bpc"] = dev_bpc
            lm.save(output, dev_bpc=dev_bpc, steps=progress["step"], chars=progress["chars"],
                    epochs=progress["step"] / steps_per_epoch, text=str(text_path))
        elif config.anneal_factor < 1.0 and progress["step"] > 0:
            progress["learn_rate"] *= config.anneal_factor
            for group in optimizer.param_groups:
                group["lr"] = progress["learn_rate"]
        log(f"  dev bpc {dev_bpc:.4f} (best {progress['best_dev_bpc']:.4f})"
            + (f" -> saved {output}" if improved else f"; learn rate now {progress['learn_rate']:.2g}"))
        save_checkpoint()
        timing["eval"] += time.time() - t0

    def save_checkpoint() -> None:
        content = {
            "format": CHECKPOINT_FORMAT, "lm": lm.to_dict(), "optimizer": optimizer.state_dict(),
            "progress": dict(progress), "config": asdict(config), "text": text_id,
            "lstm_state": [t.detach().cpu() for t in state] if state is not None else [],
            "rng": torch.get_rng_state(),
        }
        with AtomicFile(ckpt_file, create_folder=True) as file:
            torch.save(content, file.fh)

    def should_stop(run_seconds: float) -> Optional[str]:
        if config.max_minutes > 0 and run_seconds >= config.max_minutes * 60:
            return f"time budget of {config.max_minutes:g} minutes reached"
        if config.max_steps > 0 and progress["step"] >= config.max_steps:
            return f"{config.max_steps} steps reached"
        if config.max_epochs > 0 and progress["epoch"] >= config.max_epochs:
            return f"{config.max_epochs} epochs reached"
        return None

    base_seconds = progress["seconds"]
    start = time.time()
    last_log = last_ckpt = start
    run_chars = 0
    window_loss, window_n = 0.0, 0
    n_chars = lm.net.n_chars
    lm.net.train()
    reason = should_stop(0.0)
    while reason is None:
        pos = progress["position"]
        x = streams[:, pos : pos + config.seq_length]
        y = streams[:, pos + 1 : pos + config.seq_length + 1]
        x = x[:, : y.shape[1]]
        H, state = lm.net(x, state, training=True)
        loss = F.cross_entropy(lm.net.logits(H, training=True).reshape(-1, n_chars), y.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
        optimizer.step()
        state = _detach(state)
        window_loss += float(loss.detach()) * y.numel()
        window_n += y.numel()
        run_chars += y.numel()
        progress["chars"] += y.numel()
        progress["step"] += 1
        progress["position"] = pos + config.seq_length
        if progress["position"] >= streams.shape[1] - 1:
            progress["epoch"] += 1
            progress["position"] = 0
            state = None
        now = time.time()
        run_seconds = now - start
        progress["seconds"] = base_seconds + run_seconds
        reason = should_stop(run_seconds)
        if now - last_log >= config.log_seconds or reason is not None:
            rate = run_chars / max(run_seconds - timing["eval"], 1e-9)
            log(f"step {progress['step']:,}  epoch {progress['step'] / steps_per_epoch:.2f}  "
                f"train bpc {window_loss / window_n / math.log(2):.4f}  {rate:,.0f} chars/s  "
                f"elapsed {_fmt_time(run_seconds)}  ETA {_fmt_time(_eta(config, progress, run_seconds, rate, steps_per_epoch, chars_per_step))}")
            window_loss, window_n, last_log = 0.0, 0, now
        due_steps = config.checkpoint_steps > 0 and progress["step"] % config.checkpoint_steps == 0
        due_time = config.checkpoint_minutes > 0 and now - last_ckpt >= config.checkpoint_minutes * 60
        if (due_steps or due_time) and reason is None:
            evaluate_and_save()
            last_ckpt = time.time()
    log(f"stopping: {reason}")
    evaluate_and_save()
    if not math.isfinite(progress["best_dev_bpc"]):
        raise InputError(f"training diverged: the dev bpc was never a finite number (last "
                         f"{progress['last_dev_bpc']}), so no model was written to {output} "
                         f"(the checkpoint {ckpt_file} was); lower --learn-rate or set --grad-clip")
    wall = time.time() - start
    summary = {"steps": progress["step"], "epochs": progress["step"] / steps_per_epoch,
               "chars": progress["chars"],
               "chars_per_second": run_chars / max(wall - timing["eval"], 1e-9),
               "dev_bpc": progress["best_dev_bpc"], "last_dev_bpc": progress["last_dev_bpc"],
               "seconds": wall, "output": str(output), "checkpoint": str(ckpt_file)}
    log(f"done: {summary['steps']:,} steps ({summary['epochs']:.2f} epochs), "
        f"{summary['chars_per_second']:,.0f} chars/s (training), best dev bpc {summary['dev_bpc']:.4f}, "
        f"{_fmt_time(wall)} -> {output}")
    return summary


def _eta(config: TrainConfig, progress: Dict[str, Any], run_seconds: float, rate: float,
         steps_per_epoch: int, chars_per_step: int) -> float:
    """Seconds until the first stopping point."""
    left: List[float] = []
    if config.max_minutes > 0:
        left.append(config.max_minutes * 60 - run_seconds)
    steps_left = []
    if config.max_steps > 0:
        steps_left.append(config.max_steps - progress["step"])
    if config.max_epochs > 0:
        steps_left.append(config.max_epochs * steps_per_epoch - progress["step"])
    if steps_left and rate > 0:
        left.append(min(steps_left) * chars_per_step / rate)
    return min(left) if left else 0.0

