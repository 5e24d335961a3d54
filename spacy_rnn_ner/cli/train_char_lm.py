"""``train-char-lm``: a forward or backward character language model on a text file, for
``spacy_rnn_ner.CharLMFeatures.v1`` (see :mod:`spacy_rnn_ner.resources.char_lm`)."""
from pathlib import Path

import typer

from ._util import Arg, Opt, app


@app.command("train-char-lm")
def train_char_lm(
    text_path: Path = Arg(..., metavar="TEXT", help="Training text (UTF-8), e.g. the output of pretrain-text."),
    output_path: Path = Arg(..., metavar="OUTPUT", help="Model file to write (checkpoint beside it: OUTPUT.ckpt)."),
    direction: str = Opt("forward", "--direction", "-d", help="forward or backward."),
    hidden_width: int = Opt(256, "--hidden-width", help="LSTM hidden units."),
    embed_width: int = Opt(64, "--embed-width", help="Character embedding width."),
    dropout: float = Opt(0.1, "--dropout", help="Dropout on embeddings and LSTM states."),
    seq_length: int = Opt(250, "--seq-length", help="Characters per truncated-BPTT step."),
    batch_size: int = Opt(32, "--batch-size", help="Parallel character streams."),
    optimizer: str = Opt("adam", "--optimizer", help="adam or sgd."),
    learn_rate: float = Opt(0.01, "--learn-rate", help="Initial learning rate."),
    anneal_factor: float = Opt(0.5, "--anneal-factor", help="Learning-rate factor when dev bpc does not improve."),
    grad_clip: float = Opt(1.0, "--grad-clip", help="Gradient norm clip (0 = off)."),
    min_count: int = Opt(2, "--min-count", help="Characters seen fewer times map to the unknown id."),
    dev_chars: int = Opt(100_000, "--dev-chars", help="Characters held out at the end of the text for dev bpc."),
    max_minutes: float = Opt(0.0, "--max-minutes", help="Wall-time budget of this run (0 = none)."),
    max_epochs: int = Opt(0, "--max-epochs", help="Stop after this many epochs in all (0 = no limit)."),
    max_steps: int = Opt(0, "--max-steps", help="Stop after this many steps in all (0 = no limit)."),
    checkpoint_minutes: float = Opt(5.0, "--checkpoint-minutes", help="Dev evaluation + checkpoint interval."),
    checkpoint_steps: int = Opt(0, "--checkpoint-steps", help="Also every N steps (0 = off)."),
    log_seconds: float = Opt(30.0, "--log-seconds", help="Progress line interval."),
    gpu_id: int = Opt(-1, "--gpu-id", "-g", help="CUDA device id; -1 = CPU."),
    seed: int = Opt(0, "--seed", help="Random seed."),
    resume: bool = Opt(False, "--resume", help="Continue from OUTPUT.ckpt."),
) -> None:
    """Train a Flair-style character language model (one direction): truncated BPTT over
    parallel character streams, dev bits-per-character on the text's last characters,
    the best model written to OUTPUT, resumable from OUTPUT.ckpt."""
    from ..resources.char_lm import TrainConfig, train

    config = TrainConfig(
        direction=direction, embed_width=embed_width, hidden_width=hidden_width, dropout=dropout,
        seq_length=seq_length, batch_size=batch_size, optimizer=optimizer, learn_rate=learn_rate,
        anneal_factor=anneal_factor, grad_clip=grad_clip, min_count=min_count, dev_chars=dev_chars,
        max_minutes=max_minutes, max_epochs=max_epochs, max_steps=max_steps,
        checkpoint_minutes=checkpoint_minutes, checkpoint_steps=checkpoint_steps,
        log_seconds=log_seconds, gpu_id=gpu_id, seed=seed,
    )
    train(text_path, output_path, config, resume=resume, log=_echo)


def _echo(message: str) -> None:
    typer.echo(message)
