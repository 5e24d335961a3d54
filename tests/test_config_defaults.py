"""One source for each default: the architectures' signatures."""
import inspect

import pytest
from pathlib import Path

import spacy
from spacy.util import load_config

from spacy_rnn_ner.pipeline_component import DEFAULT_MODEL_CONFIG

ROOT = Path(__file__).parent.parent


def _blocks(block, path="model"):
    """(path, block) for every nested block with an @architectures."""
    yield path, block
    for key, value in block.items():
        if isinstance(value, dict) and "@architectures" in value:
            yield from _blocks(value, f"{path}.{key}")


def _signature_defaults(block):
    function = spacy.util.registry.architectures.get(block["@architectures"])
    return {
        name: p.default for name, p in inspect.signature(function).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def test_default_model_config_names_architectures_only():
    from thinc.api import Config

    model = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]
    for path, block in _blocks(model):
        settings = {k: v for k, v in block.items() if k != "@architectures" and not isinstance(v, dict)}
        assert settings == {}, (path, settings)


def test_training_config_repeats_no_default():
    config = load_config(ROOT / "configs" / "rnn_ner.cfg", interpolate=False)
    for path, block in _blocks(config["components"]["rnn_ner"]["model"]):
        defaults = _signature_defaults(block)
        repeated = {k: v for k, v in block.items() if k in defaults and defaults[k] == v}
        assert repeated == {}, f"{path} repeats defaults {repeated}"


def test_filled_component_config_takes_the_signature_defaults():
    nlp = spacy.blank("uk")
    nlp.add_pipe("rnn_ner")
    model = nlp.config["components"]["rnn_ner"]["model"]
    for path, block in _blocks(model):
        for name, default in _signature_defaults(block).items():
            if name in block and not isinstance(block[name], dict):
                assert block[name] == default, (path, name)


def test_torch_threads_callback_sets_threads_at_initialize_only():
    import torch
    from spacy.util import registry

    before = torch.get_num_threads()
    callback = registry.callbacks.get("spacy_rnn_ner.torch_threads.v1")(threads=1)
    try:
        torch.set_num_threads(2)
        nlp = spacy.blank("uk")
        assert callback(nlp) is nlp and torch.get_num_threads() == 1
        torch.set_num_threads(2)
        registry.callbacks.get("spacy_rnn_ner.torch_threads.v1")(threads=0)(nlp)
        assert torch.get_num_threads() == 2  # 0: torch's own setting stays
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="threads"):
        registry.callbacks.get("spacy_rnn_ner.torch_threads.v1")(threads=-1)
