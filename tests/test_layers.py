"""Layer-level tests: packing order, the packed RNN layer and the character CNN.

(Tensors created on the shim's device can only be checked on a GPU; see test_gpu.py.)
"""
import numpy
import pytest
import spacy
import torch
from spacy.tokens import Doc
from torch import nn
from torch.nn.utils.rnn import pack_sequence

from spacy_rnn_ner.layers.char_cnn import PAD_ID, char_cnn_layer, word_char_ids

from thinc.api import PyTorchWrapper_v2

from spacy_rnn_ner.layers.packed_rnn import packed_rnn_layer, packing_order, torch_module

RNN_TYPES = ["rnn", "gru", "lstm"]
NI, NH = 6, 5


# packing_order ---------------------------------------------------------------


def _flat_and_seqs(lengths, seed=0):
    rng = numpy.random.default_rng(seed)
    total = int(sum(lengths))
    flat = rng.normal(size=(total, 3)).astype("f")
    starts = numpy.concatenate([[0], numpy.cumsum(lengths)[:-1]]).astype(int)
    seqs = [flat[s : s + n] for s, n in zip(starts, lengths)]
    return flat, seqs


def _torch_packed(seqs):
    non_empty = [torch.from_numpy(s) for s in seqs if len(s)]
    return pack_sequence(non_empty, enforce_sorted=False)


@pytest.mark.parametrize("lengths", [[3, 0, 5, 1, 0, 7, 2], [0, 9], [4], [11, 0, 0, 1], [2, 6, 1, 0, 13]])
def test_packing_order_matches_torch_distinct_lengths(lengths):
    flat, seqs = _flat_and_seqs(lengths)
    perm, batch_sizes = packing_order(numpy.asarray(lengths))
    packed = _torch_packed(seqs)
    assert sorted(perm.tolist()) == list(range(len(flat)))  # a permutation
    numpy.testing.assert_array_equal(batch_sizes, packed.batch_sizes.numpy())
    numpy.testing.assert_array_equal(flat[perm], packed.data.numpy())


@pytest.mark.parametrize("seed", range(10))
def test_packing_order_matches_torch_random_lengths(seed):
    rng = numpy.random.default_rng(seed)
    lengths = rng.integers(0, 12, size=int(rng.integers(1, 15)))
    lengths[rng.integers(0, len(lengths))] = 0  # always at least one empty sequence
    if lengths.sum() == 0:
        lengths[0] = 4
    flat, seqs = _flat_and_seqs(lengths, seed)
    perm, batch_sizes = packing_order(lengths)
    packed = _torch_packed(seqs)
    numpy.testing.assert_array_equal(batch_sizes, packed.batch_sizes.numpy())
    data = packed.data.numpy()
    ours = flat[perm]
    # Within one time step, sequences of equal length may be ordered differently
    # if torch's sort is not stable; compare every time step as a set of rows.
    offset = 0
    for size in batch_sizes:
        a = sorted(map(tuple, ours[offset : offset + size]))
        b = sorted(map(tuple, data[offset : offset + size]))
        assert a == b
        offset += size
    assert offset == len(flat)
    # with torch's own sorting order the data is identical
    sorted_lengths = lengths[packed.sorted_indices.numpy()]
    if len(set(sorted_lengths[sorted_lengths > 0].tolist())) == (sorted_lengths > 0).sum():
        numpy.testing.assert_array_equal(ours, data)


def test_packing_order_empty_inputs():
    perm, batch_sizes = packing_order(numpy.zeros((0,), "int64"))
    assert len(perm) == 0 and len(batch_sizes) == 0
    perm, batch_sizes = packing_order(numpy.asarray([0, 0, 0]))
    assert len(perm) == 0 and len(batch_sizes) == 0


# packed RNN layer ------------------------------------------------------------


def make_rnn(rnn_type, dropout=0.0, depth=1, bidirectional=True, seed=0):
    torch.manual_seed(seed)
    layer = packed_rnn_layer(rnn_type, NI, NH, depth, bidirectional, dropout, False)
    layer.initialize()
    return layer


def test_torch_module_is_the_wrapped_module():
    """Fails when thinc renames the shim's private ``_model`` (read in one place)."""
    module = nn.Linear(2, 3)
    assert torch_module(PyTorchWrapper_v2(module)) is module


def _flat(seqs):
    lengths = numpy.asarray([len(X) for X in seqs], dtype="int64")
    X = numpy.concatenate(seqs) if seqs else numpy.zeros((0, NI), "f")
    return X, lengths


def _split(Y, lengths):
    return numpy.split(Y, numpy.cumsum(lengths)[:-1]) if len(lengths) else []


def predict(layer, seqs):
    """The layer on a list of sequences (it takes them flat, with their lengths)."""
    X, lengths = _flat(seqs)
    return _split(layer.predict((X, lengths)), lengths)


def begin_update(layer, seqs):
    X, lengths = _flat(seqs)
    Y, backprop = layer.begin_update((X, lengths))

    def backprop_list(dYs):
        dY = numpy.concatenate(dYs) if dYs else numpy.zeros((0, Y.shape[1]), "f")
        return _split(backprop(dY), lengths)

    return _split(Y, lengths), backprop_list


def rand_seqs(lengths, seed=1):
    rng = numpy.random.default_rng(seed)
    return [rng.normal(size=(n, NI)).astype("f") for n in lengths]


def stacked(module, X):
    """torch's RNN modules of each depth, run one after the other (no dropout)."""
    for rnn in module.layers:
        X, _ = rnn(X)
    return X, None


def reference_output(layer, X):
    """The RNN run by torch on one unpadded sequence (no packing, no batch)."""
    module = torch_module(layer)
    module.eval()
    with torch.no_grad():
        out, _ = stacked(module, torch.from_numpy(X)[:, None, :])
    return out[:, 0, :].numpy()


@pytest.mark.parametrize("rnn_type", RNN_TYPES)
def test_output_independent_of_batch(rnn_type):
    layer = make_rnn(rnn_type)
    target = rand_seqs([5], seed=7)[0]
    others = rand_seqs([0, 3, 80, 0, 1, 5, 12], seed=8)
    alone = predict(layer, [target])[0]
    assert alone.shape == (5, 2 * NH)
    numpy.testing.assert_allclose(alone, reference_output(layer, target), atol=1e-5)
    for position in range(len(others) + 1):
        batch = others[:position] + [target] + others[position:]
        Ys = predict(layer, batch)
        assert [Y.shape for Y in Ys] == [(len(X), 2 * NH) for X in batch]
        numpy.testing.assert_allclose(Ys[position], alone, atol=1e-5)
    # every sequence of the batch equals the sequence run alone
    Ys = predict(layer, others + [target])
    for X, Y in zip(others + [target], Ys):
        if len(X):
            numpy.testing.assert_allclose(Y, reference_output(layer, X), atol=1e-5)


@pytest.mark.parametrize("rnn_type", RNN_TYPES)
def test_unidirectional_and_deep(rnn_type):
    layer = make_rnn(rnn_type, depth=2, bidirectional=False)
    seqs = rand_seqs([4, 0, 9])
    Ys = predict(layer, seqs)
    assert [Y.shape for Y in Ys] == [(4, NH), (0, NH), (9, NH)]
    for X, Y in zip(seqs, Ys):
        if len(X):
            numpy.testing.assert_allclose(Y, reference_output(layer, X), atol=1e-5)


@pytest.mark.parametrize("rnn_type", RNN_TYPES)
def test_empty_inputs(rnn_type):
    layer = make_rnn(rnn_type)
    assert predict(layer, []) == []
    Ys = predict(layer, [numpy.zeros((0, NI), "f")] * 3)
    assert [Y.shape for Y in Ys] == [(0, 2 * NH)] * 3
    Ys, backprop = begin_update(layer, [numpy.zeros((0, NI), "f")] * 2)
    dXs = backprop([numpy.zeros((0, 2 * NH), "f")] * 2)
    assert [dX.shape for dX in dXs] == [(0, NI)] * 2
    Ys, backprop = begin_update(layer, [])
    assert Ys == []
    assert list(backprop([])) == []


@pytest.mark.parametrize("rnn_type", RNN_TYPES)
def test_backprop_shapes_and_batch_independence(rnn_type):
    layer = make_rnn(rnn_type)
    rng = numpy.random.default_rng(3)
    target = rand_seqs([6], seed=11)[0]
    d_target = rng.normal(size=(6, 2 * NH)).astype("f")
    others = rand_seqs([0, 40, 2, 0, 9], seed=12)
    d_others = [rng.normal(size=(len(X), 2 * NH)).astype("f") for X in others]

    Y_alone, backprop = begin_update(layer, [target])
    dX_alone = backprop([d_target])[0]
    assert dX_alone.shape == target.shape
    assert numpy.abs(dX_alone).sum() > 0

    batch = others[:2] + [target] + others[2:]
    d_batch = d_others[:2] + [d_target] + d_others[2:]
    Ys, backprop = begin_update(layer, batch)
    dXs = backprop(d_batch)
    assert [dX.shape for dX in dXs] == [X.shape for X in batch]
    numpy.testing.assert_allclose(Ys[2], Y_alone[0], atol=1e-5)
    numpy.testing.assert_allclose(dXs[2], dX_alone, atol=1e-5)

    # the gradient is torch's autograd gradient of sum(Y * dY) for each sequence alone
    module = torch_module(layer)
    for X, dY, dX in zip(batch, d_batch, dXs):
        if not len(X):
            continue
        Xt = torch.from_numpy(X.copy())[:, None, :].requires_grad_(True)
        out, _ = stacked(module, Xt)
        (out[:, 0, :] * torch.from_numpy(dY)).sum().backward()
        numpy.testing.assert_allclose(dX, Xt.grad[:, 0, :].numpy(), atol=1e-5)


def test_padding_never_reaches_backward_direction():
    layer = make_rnn("lstm")
    short = rand_seqs([3], seed=21)[0]
    longer = rand_seqs([50, 17], seed=22)
    alone = predict(layer, [short])[0]
    batched = predict(layer, [longer[0], short, longer[1]])[1]
    # backward direction is the second half; at the last token it has seen only that token
    numpy.testing.assert_allclose(batched[-1, NH:], alone[-1, NH:], atol=1e-6)
    numpy.testing.assert_allclose(batched[:, NH:], alone[:, NH:], atol=1e-6)

    # sanity check that this would detect leaking padding: a zero-padded, unpacked
    # run gives a different backward state at the short sequence's last token
    module = torch_module(layer)
    module.eval()
    padded = numpy.zeros((50, 1, NI), "f")
    padded[:3, 0] = short
    with torch.no_grad():
        out, _ = stacked(module, torch.from_numpy(padded))
    assert not numpy.allclose(out[2, 0, NH:].numpy(), alone[-1, NH:], atol=1e-4)


def test_zero_dropout_train_equals_predict():
    layer = make_rnn("lstm", dropout=0.0)
    seqs = rand_seqs([4, 0, 7])
    Ys_train, _ = begin_update(layer, seqs)
    Ys_pred = predict(layer, seqs)
    for a, b in zip(Ys_train, Ys_pred):
        numpy.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("rnn_type", RNN_TYPES)
def test_dropout_active_in_training_only(rnn_type):
    layer = make_rnn(rnn_type, dropout=0.5)
    seqs = rand_seqs([8, 3, 12])
    Y1, _ = begin_update(layer, seqs)
    Y2, _ = begin_update(layer, seqs)
    assert not all(numpy.allclose(a, b) for a, b in zip(Y1, Y2))
    P1 = predict(layer, seqs)
    P2 = predict(layer, seqs)
    for a, b, X in zip(P1, P2, seqs):
        numpy.testing.assert_array_equal(a, b)
        numpy.testing.assert_allclose(a, reference_output(layer, X), atol=1e-5)
    # training output is not the prediction output
    assert not all(numpy.allclose(a, b) for a, b in zip(Y1, P1))


@pytest.mark.parametrize("rate", [0.0, 0.2, 0.5])
@pytest.mark.parametrize("depth", [1, 2])
def test_dropout_follows_configured_rate(rate, depth):
    """The share of output units zeroed in training is the configured rate; the torch
    module's own dropout (which follows its shared train/eval state) stays 0."""
    layer = make_rnn("gru", dropout=rate, depth=depth)
    module = torch_module(layer)
    assert all(rnn.dropout == 0.0 and rnn.num_layers == 1 for rnn in module.layers) and len(module.layers) == depth
    assert not any(isinstance(m, nn.Dropout) for m in module.modules())
    Ys, _ = begin_update(layer, rand_seqs([400, 300, 300], seed=5))
    zeros = numpy.mean(numpy.concatenate(Ys) == 0.0)
    assert abs(zeros - rate) < 0.03
    assert numpy.mean(numpy.concatenate(predict(layer, rand_seqs([100]))) == 0.0) == 0.0


def test_dropout_between_stacked_layers_only_in_training():
    layer = make_rnn("lstm", dropout=0.5, depth=2)
    module = torch_module(layer)
    seen = []
    module.layers[1].register_forward_pre_hook(lambda mod, args: seen.append(args[0].data.detach().numpy()))
    begin_update(layer, rand_seqs([300, 200], seed=3))
    assert abs((seen[-1] == 0).mean() - 0.5) < 0.05
    predict(layer, rand_seqs([300, 200], seed=3))
    assert (seen[-1] == 0).mean() == 0.0


@pytest.mark.parametrize("rnn_type", RNN_TYPES)
def test_weights_of_a_multi_layer_module_load(rnn_type):
    """Pipelines saved before the per-depth layers hold one multi-layer torch module
    (keys ``rnn.weight_ih_l1`` ...): they load and give that module's output."""
    torch.manual_seed(0)
    old = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[rnn_type](NI, NH, num_layers=2, bidirectional=True)
    state = {f"rnn.{key}": value for key, value in old.state_dict().items()}
    layer = packed_rnn_layer(rnn_type, None, NH, 2, True, 0.3, False)
    torch_module(layer).load_state_dict(state)
    assert torch_module(layer).input_width == NI
    X = rand_seqs([9], seed=2)[0]
    with torch.no_grad():
        expected, _ = old(torch.from_numpy(X)[:, None, :])
    numpy.testing.assert_allclose(predict(layer, [X])[0], expected[:, 0].numpy(), atol=1e-5)


def test_token_dropout_zeroes_whole_tokens_in_training_only():
    torch.manual_seed(0)
    layer = packed_rnn_layer("lstm", NI, NH, 1, True, 0.0, False, token_dropout=0.4)
    layer.initialize()
    module = torch_module(layer)
    seen = []
    module.layers[0].register_forward_pre_hook(lambda mod, args: seen.append(args[0].data.detach().numpy()))
    begin_update(layer, rand_seqs([600, 400], seed=4))
    zero_rows = (seen[-1] == 0).all(axis=1)
    assert abs(zero_rows.mean() - 0.4) < 0.05
    predict(layer, rand_seqs([600, 400], seed=4))
    assert not (seen[-1] == 0).all(axis=1).any()


def test_layer_dims():
    layer = make_rnn("lstm")
    assert layer.get_dim("nI") == NI
    assert layer.get_dim("nO") == 2 * NH
    layer = make_rnn("rnn", bidirectional=False)
    assert layer.get_dim("nO") == NH


# character ids and the char CNN --------------------------------------------------

MAX_CHARS, N_ROWS = 8, 97


def doc_char_ids(doc, max_chars, n_rows):
    """Character ids of a doc's tokens, as the char CNN computes them for its words."""
    return word_char_ids([t.text for t in doc], max_chars, n_rows)


@pytest.fixture(scope="module")
def nlp():
    return spacy.blank("uk")


def expected_ids(token, max_chars=MAX_CHARS, n_rows=N_ROWS):
    ids = [ord(c) % (n_rows - 1) + 1 for c in token.text[:max_chars]]
    return ids + [PAD_ID] * (max_chars - len(ids))


def check_char_ids(doc, max_chars=MAX_CHARS, n_rows=N_ROWS):
    ids = doc_char_ids(doc, max_chars, n_rows)
    assert ids.shape == (len(doc), max_chars)
    for i, token in enumerate(doc):
        assert ids[i].tolist() == expected_ids(token, max_chars, n_rows), (i, token.text)
        n = min(len(token.text), max_chars)
        assert (ids[i, :n] != PAD_ID).all()
        assert (ids[i, n:] == PAD_ID).all()
        assert (ids[i] < n_rows).all() and (ids[i] >= 0).all()
    return ids


WEIRD_TEXTS = [
    "Привіт, Київ! Тарас Шевченко.",
    "emoji 😀👍🏽 and 👨‍👩‍👧 family 🇺🇦",
    "control\x00chars\x07here \u200b zero\u200bwidth \x1b[31m",
    "mixed Київ東京 مرحبا שלום עולם Ελλάδα",
    "combining e\u0301 и\u0306 a\u0308\u0301",
    "  leading spaces\n\nand\tnewlines \r\n  end  ",
    "x" * 30 + " " + "й" * 25,
]


@pytest.mark.parametrize("text", WEIRD_TEXTS)
def test_char_ids_tokenized_text(nlp, text):
    check_char_ids(nlp.make_doc(text))


def test_char_ids_from_words_with_spaces(nlp):
    words = ["\n", "Київ", "😀", "a\x07b", "  ", "\u200b", "东京", "מרחב", "e\u0301", "z" * 1000, "\t"]
    spaces = [False, True, False, True, False, True, True, False, True, False, False]
    doc = Doc(nlp.vocab, words=words, spaces=spaces)
    ids = check_char_ids(doc)
    # truncation: the long token keeps its first MAX_CHARS characters
    assert ids[9].tolist() == [ord("z") % (N_ROWS - 1) + 1] * MAX_CHARS
    # same character -> same id, wherever it occurs
    doc2 = Doc(nlp.vocab, words=["Київ", "ївК"])
    ids2 = doc_char_ids(doc2, MAX_CHARS, N_ROWS)
    assert ids2[0, 0] == ids2[1, 2] == ids[1, 0]  # "К"
    assert ids2[0, 2] == ids2[1, 0]  # "ї"


def test_char_ids_empty_doc(nlp):
    ids = doc_char_ids(nlp.make_doc(""), MAX_CHARS, N_ROWS)
    assert ids.shape == (0, MAX_CHARS)


def test_char_ids_distinct_chars_distinct_ids(nlp):
    doc = nlp.make_doc("abc")
    ids = doc_char_ids(doc, 5, 4096)
    assert len(set(ids[0, :3].tolist())) == 3


def make_char_cnn(width=7, dropout=0.0):
    torch.manual_seed(0)
    layer = char_cnn_layer(width, N_ROWS, 4, 1, MAX_CHARS, dropout)
    layer.initialize()
    return layer


def test_char_cnn_output_shapes(nlp):
    layer = make_char_cnn()
    docs = [nlp.make_doc(t) for t in WEIRD_TEXTS] + [nlp.make_doc("")]
    Ys = layer.predict(docs)
    assert [Y.shape for Y in Ys] == [(len(doc), 7) for doc in docs]
    for Y in Ys:
        assert numpy.isfinite(Y).all()
    assert layer.predict([]) == []
    assert [Y.shape for Y in layer.predict([nlp.make_doc(""), nlp.make_doc("")])] == [(0, 7)] * 2


def test_char_cnn_backprop_and_empty(nlp):
    layer = make_char_cnn()
    docs = [nlp.make_doc("Тарас Шевченко"), nlp.make_doc(""), nlp.make_doc("😀 x")]
    Ys, backprop = layer.begin_update(docs)
    assert [Y.shape for Y in Ys] == [(2, 7), (0, 7), (2, 7)]
    backprop([numpy.ones_like(Y) for Y in Ys])
    Ys, backprop = layer.begin_update([nlp.make_doc("")])
    assert [Y.shape for Y in Ys] == [(0, 7)]
    backprop([numpy.zeros((0, 7), "f")])


def test_char_cnn_token_vectors_are_context_free(nlp):
    """A token's vector depends only on its (truncated) text, not on its doc/batch."""
    layer = make_char_cnn()
    doc1 = nlp.make_doc("Київ " + "a" * 40)
    doc2 = nlp.make_doc("😀 Київ\n\n" + "a" * MAX_CHARS + "bbbb")
    Y1, Y2 = layer.predict([doc1, doc2])
    kyiv2 = [t.i for t in doc2 if t.text == "Київ"][0]
    numpy.testing.assert_allclose(Y1[0], Y2[kyiv2], atol=1e-6)
    # both long tokens share their first MAX_CHARS characters
    numpy.testing.assert_allclose(Y1[1], Y2[-1], atol=1e-6)
    alone = layer.predict([doc2])[0]
    numpy.testing.assert_allclose(alone, Y2, atol=1e-6)


# static vectors per distinct word ----------------------------------------------------


@pytest.mark.parametrize("mode", ["default", "floret"])
def test_static_vectors_per_distinct_word_equal_spacy(mode):
    from spacy.ml.staticvectors import StaticVectors
    from spacy.vectors import Vectors

    from spacy_rnn_ner.layers.unique_words import dedupe_static_vectors

    nlp = spacy.blank("uk")
    rng = numpy.random.default_rng(0)
    if mode == "default":
        words = ["Київ", "є", "столицею", "України", "."]
        nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=rng.normal(size=(5, 6)).astype("f"), keys=words)
    else:
        nlp.vocab.vectors = Vectors(
            strings=nlp.vocab.strings, data=rng.normal(size=(50, 6)).astype("f"), mode="floret",
            minn=2, maxn=4, hash_count=2,
        )
    docs = [nlp.make_doc("Київ є столицею України . Київ , Київ !"), nlp.make_doc(""), nlp.make_doc("є Львів")]
    reference = StaticVectors(4, dropout=0.0)
    reference.initialize(X=docs)
    ours = dedupe_static_vectors(StaticVectors(4, dropout=0.0))
    ours.initialize(X=docs)
    ours.set_param("W", reference.get_param("W").copy())
    Y_ref, backprop_ref = reference.begin_update(docs)
    Y, backprop = ours.begin_update(docs)
    assert ours is not reference and ("_vector_cache" in ours.attrs) == (mode == "floret")  # our layer
    numpy.testing.assert_allclose(Y.data, Y_ref.data, atol=1e-6)
    numpy.testing.assert_array_equal(Y.lengths, Y_ref.lengths)
    dY = type(Y)(rng.normal(size=Y.data.shape).astype("f"), Y.lengths)
    backprop_ref(dY)
    backprop(dY)
    numpy.testing.assert_allclose(ours.get_grad("W"), reference.get_grad("W"), atol=1e-5)
    assert not numpy.allclose(ours.get_grad("W"), 0)
    # cached rows are not reused once the pipeline's vectors table is replaced
    nlp.vocab.vectors = Vectors(
        strings=nlp.vocab.strings, data=rng.normal(size=nlp.vocab.vectors.data.shape).astype("f"),
        mode=mode, **({"minn": 2, "maxn": 4, "hash_count": 2} if mode == "floret" else {"keys": words}),
    )
    numpy.testing.assert_allclose(ours.predict(docs).data, reference.predict(docs).data, atol=1e-6)


def test_token_attributes_are_read_per_token_not_per_word():
    """Attributes set on tokens (here TAG) are read per token: the same word with two
    tags gets two vectors, equal to spaCy's MultiHashEmbed on the docs themselves; word
    attributes alone are still computed once per distinct word."""
    from spacy.ml.models.tok2vec import MultiHashEmbed
    from spacy.tokens import Doc

    from spacy_rnn_ner.architectures import build_char_cnn, build_token_features

    nlp = spacy.blank("uk")
    doc = Doc(nlp.vocab, words=["Київ", "і", "Київ"], tags=["PROPN", "CCONJ", "NOUN"])
    char_cnn = build_char_cnn(width=4, embed_width=4, n_rows=64)
    features = build_token_features(width=8, attrs=["NORM", "TAG"], rows=[50, 50], char_encoder=char_cnn)
    assert not features.layers[0].attrs["context_free"]
    features.initialize(X=[doc])
    [Y] = features.predict([doc])
    embed = features.layers[0]
    reference = MultiHashEmbed(8, ["NORM", "TAG"], [50, 50], False)
    reference.initialize(X=[doc])
    for node, ref in zip(embed.walk(), reference.walk()):
        for name in node.param_names:
            if node.has_param(name):
                ref.set_param(name, node.get_param(name))
    [expected] = reference.predict([doc])
    numpy.testing.assert_allclose(Y[:, :8], expected, atol=1e-6)
    assert not numpy.allclose(Y[0, :8], Y[2, :8])  # the same word, two tags
    words_only = build_token_features(width=8, attrs=["NORM", "SHAPE", "LOWER"], rows=[50, 50, 50], char_encoder=char_cnn)
    assert words_only.layers[0].attrs["context_free"]


def test_a_text_with_two_norms_gets_the_rows_of_each():
    """Word features are computed per distinct (text, norm): a token whose norm was set
    (as a tokenizer exception does) gets the rows of its own norm, in training and at
    prediction, the same as that text with that norm elsewhere."""
    from spacy.tokens import Doc

    from spacy_rnn_ner.architectures import build_char_cnn, build_token_features

    nlp = spacy.blank("uk")
    doc = Doc(nlp.vocab, words=["Київ", "і", "Київ"])
    doc[2].norm_ = "місто"
    other = Doc(nlp.vocab, words=["Київ"])
    other[0].norm_ = "місто"
    features = build_token_features(width=8, rows=[50, 50, 50, 50],
                                    char_encoder=build_char_cnn(width=4, embed_width=4, n_rows=64, dropout=0.0))
    features.initialize(X=[doc])
    for is_train in (False, True):
        [Y], _ = features([doc], is_train=is_train)
        [Z], _ = features([other], is_train=is_train)
        assert not numpy.allclose(Y[0], Y[2])
        numpy.testing.assert_allclose(Z[0], Y[2], atol=1e-6)


def floret_vectors(nlp, n_rows=64, width=6):
    from spacy.vectors import Vectors

    data = numpy.random.default_rng(0).normal(size=(n_rows, width)).astype("f")
    return Vectors(strings=nlp.vocab.strings, data=data, mode="floret", minn=2, maxn=4, hash_count=2)


def run_threads(work, n_threads=8):
    """Run ``work(i)`` in threads with a tiny switch interval (races show up); the errors."""
    import sys
    import threading

    errors = []

    def guarded(i):
        try:
            work(i)
        except Exception as err:  # noqa: BLE001 - collected for the assertion
            errors.append(err)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n_threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    return errors


def test_vector_cache_is_bounded_lru_and_thread_safe():
    from thinc.api import NumpyOps

    from spacy_rnn_ner.layers.unique_words import VectorCache

    nlp = spacy.blank("uk")
    vectors = floret_vectors(nlp)
    keys = numpy.asarray([nlp.vocab.strings.add(f"слово{i}") for i in range(300)], dtype="uint64")
    expected = {int(k): row for k, row in zip(keys, vectors.get_batch(keys))}
    cache = VectorCache(vectors, NumpyOps(), max_rows=40)
    rngs = [numpy.random.default_rng(i) for i in range(8)]

    def work(i):
        for _ in range(150):
            batch = rngs[i].choice(keys, size=int(rngs[i].integers(1, 30)), replace=False)
            numpy.testing.assert_allclose(cache.get(batch), [expected[int(k)] for k in batch], atol=1e-6)

    assert run_threads(work) == []
    assert len(cache.rows) <= 40 and cache.table.shape[0] <= 40
    # least recently used go first: a key just read survives the next batch's misses
    cache.get(keys[:1])
    cache.get(keys[200:239])
    assert int(keys[0]) in cache.rows and int(keys[200]) in cache.rows
    numpy.testing.assert_allclose(cache.get(keys[:100]), [expected[int(k)] for k in keys[:100]], atol=1e-6)


def test_vector_cache_computes_in_chunks_the_same_rows(monkeypatch):
    """Keys are looked up GET_BATCH_KEYS at a time (bounded temporary memory), with the
    rows of one lookup, within and beyond the cache's size."""
    from thinc.api import NumpyOps

    from spacy_rnn_ner.layers import unique_words

    monkeypatch.setattr(unique_words, "GET_BATCH_KEYS", 7)
    nlp = spacy.blank("uk")
    vectors = floret_vectors(nlp)
    keys = numpy.asarray([nlp.vocab.strings.add(f"слово{i}") for i in range(50)], dtype="uint64")
    sizes = []

    class Counted:  # the table, counting the keys of each lookup
        shape = vectors.shape

        def get_batch(self, batch):
            sizes.append(len(batch))
            return vectors.get_batch(batch)

    for max_rows in (100, 20):  # kept, or more keys than the cache holds
        sizes.clear()
        got = unique_words.VectorCache(Counted(), NumpyOps(), max_rows=max_rows).get(keys)
        numpy.testing.assert_array_equal(got, vectors.get_batch(keys))
        assert max(sizes) == 7 and sum(sizes) == 50


def test_static_vectors_predict_from_threads_as_alone(monkeypatch):
    """nlp.pipe-style use from several threads with a cache smaller than the text:
    every batch gets the rows it gets alone (no KeyError, no row of another key)."""
    from spacy.ml.staticvectors import StaticVectors

    from spacy_rnn_ner.layers import unique_words

    monkeypatch.setattr(unique_words, "VECTOR_CACHE_ROWS", 16)
    nlp = spacy.blank("uk")
    nlp.vocab.vectors = floret_vectors(nlp)
    rng = numpy.random.default_rng(1)
    words = [f"слово{i}" for i in range(120)]
    docs = [nlp.make_doc(" ".join(rng.choice(words, size=12))) for _ in range(40)]
    layer = unique_words.dedupe_static_vectors(StaticVectors(4, dropout=0.0))
    layer.initialize(X=docs)
    alone = [layer.predict([doc]).data.copy() for doc in docs]
    results = [None] * len(docs)

    def work(i):
        for j in range(i, len(docs), 8):
            results[j] = layer.predict([docs[j]]).data.copy()

    assert run_threads(work) == []
    for got, want in zip(results, alone):
        numpy.testing.assert_allclose(got, want, atol=1e-6)


def test_feature_cache_keeps_word_rows_while_their_sources_stay_the_same():
    """At prediction the context-free rows of words seen in an earlier batch come from
    the cache: the output is the one computed batch by batch (up to float rounding), and
    a change of what the rows are computed from clears it: a parameter changed in place
    (an optimizer step), ``use_params`` (the averages in training), the vocab's vectors."""
    from spacy_rnn_ner.architectures import build_char_cnn, build_token_features

    nlp = spacy.blank("uk")
    nlp.vocab.vectors = floret_vectors(nlp)
    rng = numpy.random.default_rng(2)
    words = [f"слово{i}" for i in range(60)]
    docs = [nlp.make_doc(" ".join(rng.choice(words, size=10))) for _ in range(12)]
    features = build_token_features(width=8, rows=[50, 50, 50, 50], include_static_vectors=True,
                                    char_encoder=build_char_cnn(width=4, embed_width=4, n_rows=64))
    features.initialize(X=docs)
    features.predict(docs[:1])

    def batch_by_batch():
        rows = []
        for doc in docs:
            features.attrs["_feature_cache"].value.clear()
            rows.append(features.predict([doc])[0])
        return rows

    def cached():
        return [features.predict([doc])[0] for doc in docs]

    expected = batch_by_batch()
    for got, want in zip(cached(), expected):  # the later docs' words are all kept
        numpy.testing.assert_allclose(got, want, atol=1e-5)
    cache = features.attrs["_feature_cache"].value
    assert len(cache.rows) == len({t.text for doc in docs for t in doc})
    table = [node for node in features.walk() if node.name.startswith("hashembed")][0]
    table.get_param("E")[:] += 0.5  # in place, as the optimizer
    changed = cached()
    assert not numpy.allclose(changed[0], expected[0])
    for got, want in zip(changed, batch_by_batch()):
        numpy.testing.assert_allclose(got, want, atol=1e-5)
    with features.use_params({(table.id, "E"): table.get_param("E") * 2}):
        for got, want in zip(cached(), batch_by_batch()):
            numpy.testing.assert_allclose(got, want, atol=1e-5)
    old_table = cached()
    nlp.vocab.vectors = floret_vectors(nlp, n_rows=50)  # another table, the same width
    docs = [nlp.make_doc(doc.text) for doc in docs]
    new_table = cached()
    assert not numpy.allclose(new_table[0], old_table[0])
    for got, want in zip(new_table, batch_by_batch()):
        numpy.testing.assert_allclose(got, want, atol=1e-5)


def test_caches_are_not_pickled_or_copied_with_the_model():
    """A pickled (spawn worker) or copied static-vectors layer carries no cached rows and
    builds them again; an LRUCache pickles empty with its bounds."""
    import copy
    import pickle

    from spacy.ml.staticvectors import StaticVectors

    from spacy_rnn_ner.layers.caches import LRUCache
    from spacy_rnn_ner.layers.unique_words import dedupe_static_vectors

    nlp = spacy.blank("uk")
    nlp.vocab.vectors = floret_vectors(nlp)
    docs = [nlp.make_doc("Київ є столицею України .")]
    layer = dedupe_static_vectors(StaticVectors(4, dropout=0.0))
    layer.initialize(X=docs)
    expected = layer.predict(docs).data.copy()
    assert len(layer.attrs["_vector_cache"].value.rows) == 5
    for other in (pickle.loads(pickle.dumps(layer)), copy.deepcopy(layer)):
        holder = other.attrs.get("_vector_cache")
        assert holder is None or holder.value is None
        numpy.testing.assert_allclose(other.predict(docs).data, expected, atol=1e-6)
    cache = LRUCache(10, size=len)
    cache.put("a", [1, 2, 3])
    restored = pickle.loads(pickle.dumps(cache))
    assert len(restored) == 0 and restored.capacity == 10 and restored.size is len
    assert restored.get("a") is None and cache.get("a") == [1, 2, 3]
