"""Experiment tracking with MLflow: spaCy's console logger, chained with spacy-loggers'
``spacy.MLflowLogger.v2`` when ``tracking`` is on, and the final test scores and report
files logged to the same MLflow run after ``evaluate``/``report``.

``mlflow`` (or ``mlflow-skinny`` plus ``sqlalchemy`` and ``alembic`` for a SQLite store) and
``spacy-loggers`` are only imported when tracking is on: ``pip install spacy-rnn-ner[tracking]``.
"""
import os
import sys
import time
from pathlib import Path
from typing import IO, Any, Callable, Dict, List, Optional, Sequence, Tuple

from spacy.language import Language
from spacy.util import SimpleFrozenList, registry
from ..errors import InputError, config_error, import_optional
from ..io import read_json, read_text
from ..outputs import file_kind, not_a_regular_file

DEFAULT_TRACKING_URI = "sqlite:///training/mlflow.db"
DEFAULT_EXPERIMENT = "spacy-rnn-ner"
#: the config block of the training logger, for messages
LOGGER_BLOCK = "training.logger"
LoggerT = Callable[[Language, IO, IO], Tuple[Callable[[Optional[Dict[str, Any]]], None], Callable[[], None]]]



#: missing run, store or score file when logging to MLflow: a bad input (the name stays
#: for callers; one class, :class:`~spacy_rnn_ner.errors.InputError`)
TrackingError = InputError


def _import_mlflow():
    return import_optional("mlflow", "tracking", "tracking", "mlflow-skinny")


def artifact_location(tracking_uri: str) -> Optional[str]:
    """Artifacts of a SQLite store go next to the database file (``mlartifacts/``),
    not into ``./mlruns`` of whatever directory the command runs in."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        return None
    db_path = Path(tracking_uri[len(prefix):]).resolve()
    return (db_path.parent / "mlartifacts").as_uri()


def use_store(tracking_uri: str, experiment_name: str) -> str:
    """Point MLflow at ``tracking_uri`` and return the id of ``experiment_name``,
    creating the experiment (and the SQLite file's folder) when missing."""
    mlflow = _import_mlflow()
    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(tracking_uri)
    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(experiment_name, artifact_location=artifact_location(tracking_uri))


#: the functions of ``spacy train`` that hold its output folder as ``output_path``: the
#: training loop (which sets the logger up) and the command (which resolves the logger
#: first, while initializing)
TRAIN_FRAMES = ("spacy.training.loop", "spacy.cli.train")


def training_output_dir() -> Optional[Path]:
    """The output folder of the ``spacy train`` run that is setting up its logger (the
    ``output_path`` of :func:`spacy.training.loop.train`, which calls the logger's setup
    with no such argument, or of the command :func:`spacy.cli.train.train`), or ``None``
    (no ``--output``, or not called from there)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "train" and frame.f_globals.get("__name__") in TRAIN_FRAMES:
            output_path = frame.f_locals.get("output_path")
            return None if output_path is None else Path(output_path)
        frame = frame.f_back
    return None


def resolve_log_file(output_file: Optional[str], default_output_file: Optional[str]
                     ) -> Optional[Path]:
    """Where the training log goes: ``output_file`` as given (relative to the working
    folder, as spaCy has it); when it is null, ``default_output_file`` inside the training
    output folder (``spacy train --output DIR``); nowhere without either."""
    if output_file:
        return Path(output_file)
    output_dir = training_output_dir() if default_output_file else None
    return None if output_dir is None else output_dir / default_output_file


def is_training_log(path: Path) -> bool:
    """Whether ``path`` is a training log of ``spacy.ConsoleLogger.v3`` (its first line a
    JSON object with a ``step``) or an empty file."""
    import json

    if not path.is_file():
        return False
    try:
        with open(path, "rb") as f:
            first = f.readline(1 << 20)
    except OSError:
        return False
    if not first.strip():
        return path.stat().st_size == 0
    try:
        record = json.loads(first)
    except ValueError:
        return False
    return isinstance(record, dict) and "step" in record and "losses" in record


def check_log_folder(log_file: Optional[Path], setting: str) -> None:
    """A config error when the training log cannot be written because a plain file stands
    where its folder goes (``spacy train --output FILE``): spaCy's console logger would end
    in a traceback after the pipeline is initialized."""
    if log_file is None:
        return
    for folder in (log_file.parent, *log_file.parent.parents):
        if os.path.lexists(folder):
            if not folder.is_dir():
                hint = (f"the training log output_file {log_file} goes inside it"
                        if setting == "output_file" else
                        f"spacy train --output takes a folder; the training log goes to {log_file}")
                raise config_error(LOGGER_BLOCK, setting, f"{LOGGER_BLOCK}: {folder}: is a file, "
                                   f"expected a folder ({hint})")
            return


@registry.loggers("spacy_rnn_ner.TrackingLogger.v1")
def make_tracking_logger(
    progress_bar: Optional[str] = None,
    console_output: bool = True,
    output_file: Optional[str] = None,
    default_output_file: Optional[str] = None,
    tracking: bool = False,
    tracking_uri: str = DEFAULT_TRACKING_URI,
    experiment_name: str = DEFAULT_EXPERIMENT,
    run_name: Optional[str] = None,
    run_id_file: Optional[str] = None,
    tags: Optional[Dict[str, Any]] = None,
    remove_config_values: List[str] = SimpleFrozenList(),
    log_custom_stats: Optional[List[str]] = None,
) -> LoggerT:
    """``spacy.ConsoleLogger.v3`` (same first three arguments), chained with
    ``spacy.MLflowLogger.v2`` when ``tracking`` is true: the run records the resolved
    config as params, ``loss_*``, ``score`` and every dev score per evaluation, and the
    best model (``best``). ``run_id_file`` receives the run id so that ``track`` logs the
    test scores to the same run; with tracking off a stale file is removed.
    ``default_output_file``: the log's file name inside the training output folder when
    ``output_file`` is null (:func:`resolve_log_file`), so that a log never lands outside
    ``spacy train --output DIR`` unless it is asked for. An earlier training log there
    is replaced at the start of the run (:func:`is_training_log`; spaCy would keep it and
    log nothing, leaving a new model beside a stale log); any other file is left alone
    (spaCy then saves no log, with a warning)."""
    from spacy.training.loggers import console_logger_v3

    check_log_folder(resolve_log_file(output_file, default_output_file),
                     "output_file" if output_file else "default_output_file")

    def console(nlp: Language, stdout: IO, stderr: IO):
        log_file = resolve_log_file(output_file, default_output_file)
        if log_file is not None and is_training_log(log_file):
            log_file.unlink()  # an earlier run's: this run's log replaces it
        return console_logger_v3(progress_bar=progress_bar, console_output=console_output,
                                 output_file=log_file)(nlp, stdout, stderr)

    if not tracking:
        if run_id_file and Path(run_id_file).exists():
            Path(run_id_file).unlink()
        return console
    reason = unreachable_server(tracking_uri)
    if reason is not None:  # a config error: spacy train prints it without a traceback
        raise config_error(LOGGER_BLOCK, "tracking_uri",
                           f"{LOGGER_BLOCK}.tracking_uri {tracking_uri}: the tracking server "
                           f"cannot be reached ({reason}); start it, or set tracking = false")
    mlflow = _import_mlflow()
    import_optional("spacy_loggers", "tracking", "tracking", "spacy-loggers")  # spacy.MLflowLogger.v2
    mlflow_logger = registry.loggers.get("spacy.MLflowLogger.v2")(
        experiment_id=None,
        run_name=run_name,
        tags=tags,
        remove_config_values=remove_config_values,
        log_custom_stats=log_custom_stats,
    )

    def setup_logger(nlp: Language, stdout: IO, stderr: IO):
        experiment_id = use_store(tracking_uri, experiment_name)
        mlflow.set_experiment(experiment_id=experiment_id)
        console_step, console_finalize = console(nlp, stdout, stderr)
        mlflow_step, mlflow_finalize = mlflow_logger(nlp, stdout, stderr)
        run_id = mlflow.active_run().info.run_id
        if run_id_file:
            Path(run_id_file).parent.mkdir(parents=True, exist_ok=True)
            Path(run_id_file).write_text(run_id + "\n", encoding="utf8")
        stdout.write(f"MLflow run {run_id} in {tracking_uri} (experiment {experiment_name!r})\n")

        def log_step(info: Optional[Dict[str, Any]]) -> None:
            console_step(info)
            mlflow_step(info)

        def finalize() -> None:
            console_finalize()
            mlflow_finalize()

        return log_step, finalize

    return setup_logger


def flat_scores(scores: Dict[str, Any], prefix: str = "test_") -> Dict[str, float]:
    """Numeric scores of a ``spacy evaluate`` JSON, nested keys joined by ``.``:
    ``{"ents_per_type": {"LOC": {"f": 0.9}}}`` -> ``{"test_ents_per_type.LOC.f": 0.9}``."""
    flat: Dict[str, float] = {}

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, f"{key}.{name}" if key else str(name))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[prefix + key] = float(value)

    walk(scores, "")
    return flat


#: seconds a tracking server has to answer before MLflow is asked (MLflow itself would
#: retry for minutes, silently)
SERVER_TIMEOUT = 10.0


def unreachable_server(tracking_uri: str, timeout: float = SERVER_TIMEOUT) -> Optional[str]:
    """Why the HTTP(S) tracking server of ``tracking_uri`` cannot be reached within
    ``timeout`` seconds (``"[Errno 111] Connection refused"``), or ``None`` when it
    answers (an error page is an answer) or the store is not a server. The one check of
    ``track`` and of the training logger."""
    from urllib.error import HTTPError
    from urllib.request import urlopen

    if tracking_uri.split(":", 1)[0].lower() not in ("http", "https"):
        return None
    try:
        urlopen(tracking_uri, timeout=timeout).close()
    except HTTPError:
        return None
    except (OSError, ValueError) as err:
        return str(getattr(err, "reason", err))
    return None


def check_store(tracking_uri: str, run_id_file: Path, run_id: str, timeout: float = SERVER_TIMEOUT) -> None:
    """Before MLflow is asked: a SQLite store must exist (MLflow would create an empty one
    and then not find the run), an HTTP(S) server must answer within ``timeout`` seconds
    (:func:`unreachable_server`); else an :class:`InputError` saying so."""
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri[len("sqlite:///"):])
        if not db.is_file():
            raise TrackingError(f"{run_id_file}: run {run_id} not found: no MLflow database at "
                                f"{db} (--tracking-uri {tracking_uri})")
    reason = unreachable_server(tracking_uri, timeout)
    if reason is not None:
        raise TrackingError(f"--tracking-uri {tracking_uri}: the tracking server cannot be "
                            f"reached ({reason})")


def log_results(
    run_id_file: Path,
    tracking_uri: str,
    scores_file: Optional[Path] = None,
    artifacts: Sequence[Path] = (),
) -> Tuple[str, int, int]:
    """Log the test scores of ``scores_file`` (as ``test_*`` metrics; checked as
    ``compare`` checks them) and ``artifacts`` to the run recorded in ``run_id_file``;
    returns (run id, metrics logged, artifacts logged)."""
    from .compare import checked_scores, with_entity_scores

    if not Path(run_id_file).exists():
        raise TrackingError(f"{run_id_file}: no MLflow run recorded; train with tracking on first")
    run_id = read_text(run_id_file).strip()
    if not run_id:
        raise TrackingError(f"{run_id_file}: holds no MLflow run id; train with tracking on first")
    if len(run_id.split()) > 1:
        lines = [line for line in run_id.splitlines() if line.strip()]
        what = f"{len(lines)} lines" if len(lines) > 1 else f"{len(run_id.split())} words"
        raise TrackingError(f"{run_id_file}: holds {what}, expected one MLflow run id (what "
                            "training with tracking on writes)")
    missing = [str(path) for path in ([scores_file] if scores_file else []) + list(artifacts)
               if not Path(path).exists()]
    if missing:
        raise TrackingError(f"missing file(s) to log: {', '.join(missing)}")
    for path in ([scores_file] if scores_file else []) + list(artifacts):
        if file_kind(path):  # a named pipe with no writer would block the run (probe 4 tk04)
            raise not_a_regular_file(path)
    scores = None
    if scores_file:
        scores = with_entity_scores(checked_scores(read_json(scores_file), scores_file), scores_file)
    check_store(tracking_uri, run_id_file, run_id)
    mlflow = _import_mlflow()
    try:
        mlflow.set_tracking_uri(tracking_uri)
        client = mlflow.MlflowClient()
    except Exception as err:  # an unusable store (e.g. a file store MLflow refuses)
        reason = " ".join(str(err).split()).split(". ")[0]
        raise TrackingError(f"--tracking-uri {tracking_uri}: cannot open the MLflow store "
                            f"({reason})") from None
    try:
        client.get_run(run_id)
    except Exception as err:
        if getattr(err, "error_code", None) not in (None, "RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            reason = " ".join(str(err).split())[:200]
            raise TrackingError(f"{run_id_file}: run {run_id} cannot be read from {tracking_uri} "
                                f"({reason})") from err
        raise TrackingError(f"{run_id_file}: run {run_id} not found in {tracking_uri}") from err
    metrics: Dict[str, float] = {}
    if scores is not None:
        metrics = flat_scores(scores)
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(key, value, now, 0) for key, value in metrics.items()]
        for start in range(0, len(items), 500):
            client.log_batch(run_id, metrics=items[start:start + 500])
    for path in artifacts:
        client.log_artifact(run_id, str(path), artifact_path="report")
    return run_id, len(metrics), len(artifacts)
