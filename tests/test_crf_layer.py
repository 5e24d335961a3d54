"""The thinc layer holding CRF scores: initialisation, gradient accumulation, updates,
serialisation, and training a tiny emission model + CRF end to end."""
import numpy
import pytest
from thinc.api import SGD, Adam, Linear, chain, with_array

from spacy_rnn_ner.crf import crf_nll
from spacy_rnn_ner.layers.crf_layer import (
    crf_layer,
    crf_layer_decode,
    crf_layer_loss,
    crf_layer_marginals,
    resized_crf_layer,
)

N_TAGS = 5


def sample(seed=0, lengths=(3, 4, 1)):
    rng = numpy.random.default_rng(seed)
    emissions = rng.normal(size=(sum(lengths), N_TAGS)).astype("f")
    gold = numpy.asarray([0, 1, 2, 3, 4, -1, 0, 1])[: sum(lengths)]
    return emissions, list(lengths), gold


def test_init_infers_width_and_zeros_params():
    layer = crf_layer()
    emissions, _, _ = sample()
    layer.initialize(X=[emissions])
    assert layer.get_dim("nO") == N_TAGS
    assert layer.get_param("transitions").shape == (N_TAGS, N_TAGS)
    assert layer.get_param("start").shape == layer.get_param("end").shape == (N_TAGS,)
    assert not any(layer.get_param(p).any() for p in ("transitions", "start", "end"))
    Y, backprop = layer([emissions], is_train=True)
    assert Y[0] is emissions and backprop(Y)[0] is emissions
    with pytest.raises(ValueError, match="BIO"):
        crf_layer(4).initialize()
    with pytest.raises(ValueError, match="unset"):
        crf_layer().initialize()


def test_gradients_accumulate_and_update():
    layer = crf_layer(N_TAGS)
    layer.initialize()
    layer.set_param("transitions", numpy.random.default_rng(1).normal(size=(N_TAGS, N_TAGS)).astype("f"))
    emissions, lengths, gold = sample()
    expected = crf_nll(emissions, lengths, gold, layer.get_param("transitions"),
                       layer.get_param("start"), layer.get_param("end"))
    loss, d_em = crf_layer_loss(layer, emissions, lengths, gold, scale=0.5)
    assert loss == pytest.approx(0.5 * expected.loss)
    numpy.testing.assert_allclose(d_em, 0.5 * expected.d_emissions, rtol=1e-6)
    crf_layer_loss(layer, emissions, lengths, gold, scale=0.5)
    numpy.testing.assert_allclose(layer.get_grad("transitions"), expected.d_transitions, rtol=1e-5, atol=1e-7)
    numpy.testing.assert_allclose(layer.get_grad("end"), expected.d_end, rtol=1e-5, atol=1e-7)
    before = layer.get_param("transitions").copy()
    layer.finish_update(SGD(0.1, grad_clip=0.0, use_averages=False))
    numpy.testing.assert_allclose(layer.get_param("transitions"), before - 0.1 * expected.d_transitions, rtol=1e-5, atol=1e-6)
    assert not layer.get_grad("transitions").any()  # reset after the update


def test_serialisation_round_trip():
    emissions, lengths, _ = sample()
    model = chain(with_array(Linear(N_TAGS, 3)), crf_layer())
    model.initialize(X=[numpy.ones((2, 3), "f")])
    crf = model.layers[-1]
    crf.set_param("transitions", numpy.arange(N_TAGS * N_TAGS, dtype="f").reshape(N_TAGS, N_TAGS))
    crf.set_param("end", numpy.arange(N_TAGS, dtype="f"))
    restored = chain(with_array(Linear(N_TAGS, 3)), crf_layer()).from_bytes(model.to_bytes())
    for name in ("transitions", "start", "end"):
        numpy.testing.assert_array_equal(restored.layers[-1].get_param(name), crf.get_param(name))
    assert [p.tolist() for p in crf_layer_decode(restored.layers[-1], emissions, lengths)] == [
        p.tolist() for p in crf_layer_decode(crf, emissions, lengths)
    ]


def test_linear_emissions_plus_crf_learn_a_toy_task():
    """Word 'c' is O after B-X and B-Y after O: a per-word linear model cannot tell
    them apart, even under BIO constraints; the learned transitions must."""
    vocab = {"o": 0, "a": 1, "b": 2, "c": 3}
    data = [
        ("o a a o", [0, 1, 2, 0]), ("a c", [1, 0]), ("o c", [0, 3]), ("o b a c", [0, 3, 1, 0]),
        ("a a a o b b", [1, 2, 2, 0, 3, 4]), ("c c", [3, 4]),
    ]
    X = [numpy.eye(len(vocab), dtype="f")[[vocab[w] for w in text.split()]] for text, _ in data]
    gold = numpy.concatenate([tags for _, tags in data])
    lengths = [len(tags) for _, tags in data]
    model = chain(with_array(Linear(N_TAGS, len(vocab))), crf_layer())
    model.initialize(X=X)
    crf = model.layers[-1]
    optimizer = Adam(0.1)
    losses = []
    for _ in range(100):
        Y, backprop = model(X, is_train=True)
        flat = model.ops.flatten(Y)
        loss, d_flat = crf_layer_loss(crf, flat, lengths, gold, scale=1 / len(gold))
        losses.append(loss)
        backprop(model.ops.unflatten(d_flat, model.ops.asarray1i([len(x) for x in X])))
        model.finish_update(optimizer)
    assert losses[-1] < 0.1 * losses[0]
    flat = model.ops.flatten(model.predict(X))
    assert numpy.concatenate(crf_layer_decode(crf, flat, lengths)).tolist() == gold.tolist()
    marginals = crf_layer_marginals(crf, flat, lengths)
    numpy.testing.assert_allclose(marginals.sum(axis=1), 1, rtol=1e-5)
    assert (marginals[numpy.arange(len(gold)), gold] > 0.5).all()


def test_resize_keeps_learned_scores():
    old = crf_layer(N_TAGS)
    old.initialize()
    rng = numpy.random.default_rng(0)
    for name, shape in (("transitions", (N_TAGS, N_TAGS)), ("start", (N_TAGS,)), ("end", (N_TAGS,))):
        old.set_param(name, rng.normal(size=shape).astype("f"))
    new = resized_crf_layer(old, N_TAGS + 2)
    assert new.get_dim("nO") == N_TAGS + 2
    numpy.testing.assert_array_equal(new.get_param("transitions")[:N_TAGS, :N_TAGS], old.get_param("transitions"))
    numpy.testing.assert_array_equal(new.get_param("start")[:N_TAGS], old.get_param("start"))
    assert not new.get_param("transitions")[N_TAGS:].any() and not new.get_param("end")[N_TAGS:].any()
    with pytest.raises(ValueError, match="shrink"):
        resized_crf_layer(old, 3)
