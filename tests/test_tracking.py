"""MLflow tracking against a real SQLite store: a tiny ``spacy train`` with
``spacy_rnn_ner.TrackingLogger.v1`` records params, losses and dev scores; ``track`` adds the
test scores and report files to the same run."""
import json
import sys

import pytest

from test_cli import CONFIG, TINY_OVERRIDES, TRAIN_DATA, explain, run, spacy_cli, write_docbin
from spacy_rnn_ner.report.tracking import flat_scores, make_tracking_logger

mlflow = pytest.importorskip("mlflow")
pytest.importorskip("sqlalchemy")
pytest.importorskip("spacy_loggers")


def test_flat_scores():
    scores = {"ents_f": 0.5, "speed": 100, "ents_per_type": {"LOC": {"p": 1.0, "r": 0.5}}, "x": None, "b": True}
    assert flat_scores(scores) == {
        "test_ents_f": 0.5, "test_speed": 100.0,
        "test_ents_per_type.LOC.p": 1.0, "test_ents_per_type.LOC.r": 0.5,
    }


def test_tracking_off_is_the_console_logger_and_drops_a_stale_run_id(tmp_path):
    stale = tmp_path / "run_id.txt"
    stale.write_text("old\n")
    make_tracking_logger(tracking=False, run_id_file=str(stale), tracking_uri=f"sqlite:///{tmp_path}/x.db")
    assert not stale.exists() and not (tmp_path / "x.db").exists()


@pytest.mark.slow
def test_training_run_logged_to_sqlite_store(tmp_path):
    train, dev = tmp_path / "train.spacy", tmp_path / "dev.spacy"
    write_docbin(train, TRAIN_DATA * 2)
    write_docbin(dev, TRAIN_DATA)
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    run_id_file = tmp_path / "output" / "mlflow_run_id.txt"
    overrides = [arg for arg in TINY_OVERRIDES]
    overrides[overrides.index("--training.max_steps") + 1] = "10"
    overrides[overrides.index("--training.eval_frequency") + 1] = "5"
    proc = spacy_cli(
        "train", CONFIG, "--output", tmp_path / "output",
        "--paths.train", train, "--paths.dev", dev, "--paths.log", tmp_path / "log.jsonl",
        *overrides,
        "--training.logger.@loggers", "spacy_rnn_ner.TrackingLogger.v1",
        "--training.logger.tracking", "true",
        "--training.logger.tracking_uri", uri,
        "--training.logger.experiment_name", "tiny",
        "--training.logger.run_id_file", run_id_file,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, explain(proc)
    n_evals = len((tmp_path / "log.jsonl").read_text().splitlines())  # console logger still chained
    assert n_evals == 3  # steps 0, 5, 10
    run_id = run_id_file.read_text().strip()

    scores = {"ents_f": 0.25, "ents_p": 0.5, "ents_per_type": {"LOC": {"p": 0.5, "r": 0.1, "f": 0.2}}}
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "test.json").write_text(json.dumps(scores))
    report = [tmp_path / "metrics" / name for name in ("report_lstm.md", "curves_lstm.png", "examples_lstm.html")]
    for path in report:
        path.write_bytes(b"x")
    proc = run([sys.executable, "-m", "spacy_rnn_ner", "track", str(run_id_file),
                "--scores", str(tmp_path / "metrics" / "test.json"), "--tracking-uri", uri,
                *[arg for path in report for arg in ("--artifact", str(path))]], cwd=tmp_path)
    assert proc.returncode == 0, explain(proc)

    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient()
    logged = client.get_run(run_id)
    assert client.get_experiment(logged.info.experiment_id).name == "tiny"
    assert logged.data.params["components.rnn_ner.model.hidden_width"] == "16"
    assert logged.data.params["training.max_steps"] == "10"
    losses = client.get_metric_history(run_id, "loss_rnn_ner")
    assert len(losses) == n_evals and all(m.value >= 0 for m in losses)  # one per evaluation
    assert len(client.get_metric_history(run_id, "ents_f")) == n_evals
    assert logged.data.metrics["test_ents_f"] == 0.25
    assert logged.data.metrics["test_ents_per_type.LOC.f"] == 0.2
    names = {a.path for a in client.list_artifacts(run_id, "report")}
    assert names == {f"report/{p.name}" for p in report}
    assert not (tmp_path / "mlruns").exists()  # artifacts live next to the database
    assert (tmp_path / "store" / "mlartifacts").is_dir()

    # tracking off: nothing logged; a missing run id is a one-line error
    off = run([sys.executable, "-m", "spacy_rnn_ner", "track", str(tmp_path / "none.txt"), "--enabled", "false"],
              cwd=tmp_path)
    assert off.returncode == 0 and "tracking is off" in off.stdout
    missing = run([sys.executable, "-m", "spacy_rnn_ner", "track", str(tmp_path / "none.txt"), "--tracking-uri", uri],
                  cwd=tmp_path)
    assert missing.returncode == 1 and "none.txt: no MLflow run recorded" in missing.stderr
