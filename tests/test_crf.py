"""Linear-chain CRF in torch (layers/crf.py): partition, NLL, gradients, marginals and
decoding against brute force over all tag paths; masked BIO transitions; unknown gold
tokens; weights; the thinc node (loss, decode, resize, save/load); a toy optimisation."""
import itertools

import numpy
import pytest
import torch

from spacy_rnn_ner.bio import allowed_transitions, repair_bio, tag_ids_to_spans
from spacy_rnn_ner.layers.crf import (
    CRFScores,
    crf_decode,
    crf_layer,
    crf_loss,
    log_partition,
    marginals,
    masked_scores,
    nll,
    padding_of,
    resized_crf_layer,
)

N_LABELS = 2
N_TAGS = 1 + 2 * N_LABELS


def random_case(seed, lengths=(3, 1, 5, 2, 4), unknown=0.0):
    """Emissions, lengths, valid gold (with a share of unknown tokens), parameters."""
    rng = numpy.random.default_rng(seed)
    n = sum(lengths)
    emissions = rng.normal(size=(n, N_TAGS)) * 2
    trans, start, end = rng.normal(size=(N_TAGS, N_TAGS)), rng.normal(size=N_TAGS), rng.normal(size=N_TAGS)
    gold = numpy.concatenate([random_valid_path(rng, L) for L in lengths]).astype("int64")
    gold[rng.random(n) < unknown] = -1
    return emissions, numpy.asarray(lengths), gold, trans, start, end


def random_valid_path(rng, length, n_labels=N_LABELS):
    allowed, allowed_start = allowed_transitions(n_labels)
    path = []
    for t in range(length):
        ok = allowed_start if t == 0 else allowed[path[-1]]
        path.append(int(rng.choice(numpy.flatnonzero(ok))))
    return numpy.asarray(path, dtype="int64")


def allowed_paths(length, n_labels=N_LABELS):
    allowed, allowed_start = allowed_transitions(n_labels)
    for path in itertools.product(range(1 + 2 * n_labels), repeat=length):
        if allowed_start[path[0]] and all(allowed[a, b] for a, b in zip(path[:-1], path[1:])):
            yield path


def path_score(em, path, trans, start, end):
    score = start[path[0]] + end[path[-1]] + sum(em[t, y] for t, y in enumerate(path))
    return score + sum(trans[a, b] for a, b in zip(path[:-1], path[1:]))


def brute_log_z(em, trans, start, end, gold=None):
    """Torch or numpy: log-sum-exp of the allowed paths' scores (agreeing with gold)."""
    scores = [
        path_score(em, p, trans, start, end)
        for p in allowed_paths(len(em))
        if gold is None or all(g < 0 or g == y for g, y in zip(gold, p))
    ]
    if isinstance(em, torch.Tensor):
        return torch.logsumexp(torch.stack(scores), dim=0)
    return numpy.logaddexp.reduce(scores)


def split(array, lengths):
    return numpy.split(array, numpy.cumsum(lengths)[:-1])


def brute_nll(emissions, lengths, gold, trans, start, end, weights):
    offsets = numpy.cumsum(lengths) - lengths
    return sum(
        w * (brute_log_z(emissions[o : o + L], trans, start, end)
             - brute_log_z(emissions[o : o + L], trans, start, end, gold[o : o + L]))
        for o, L, w in zip(offsets, lengths, weights)
        if L
    )


def t64(*arrays, grad=False):
    return [torch.tensor(a, dtype=torch.float64, requires_grad=grad) for a in arrays]


def flat_marginals(E, lengths, scores):
    """The forward-backward marginals of flat emissions, as flat rows."""
    padding = padding_of(lengths, "cpu")
    host_scores = CRFScores(*(x.detach().cpu() for x in scores))
    padded = marginals(padding.pad(E.detach().cpu()).numpy(), padding.batch_sizes, host_scores)
    return padding.unpad(torch.from_numpy(padded))


def node(trans, start, end):
    """A crf node holding the given (float32) params."""
    layer = crf_layer(len(start))
    layer.initialize()
    for name, value in zip(("transitions", "start", "end"), (trans, start, end)):
        layer.set_param(name, numpy.asarray(value, "f"))
    return layer


@pytest.mark.parametrize("seed", range(4))
def test_log_partition_matches_brute_force(seed):
    emissions, lengths, gold, trans, start, end = random_case(seed, unknown=0.4)
    E, A, s, e = t64(emissions, trans, start, end)
    padding = padding_of(lengths, "cpu")
    scores = masked_scores(N_TAGS, A, s, e, dtype=torch.float64)
    clamp = (torch.tensor(gold)[:, None] >= 0) & (torch.arange(N_TAGS) != torch.tensor(gold)[:, None])
    log_z = log_partition(padding.pad(E), padding.batch_sizes, scores).numpy()
    log_z_gold = log_partition(padding.pad(E.masked_fill(clamp, -1e30)), padding.batch_sizes, scores).numpy()
    ems, golds = split(emissions, lengths), split(gold, lengths)
    order = padding.sorted_indices.tolist()  # rows: longest first
    assert sorted(order) == list(range(len(lengths))) and lengths[order].tolist() == sorted(lengths, reverse=True)
    for rank, i in enumerate(order):
        assert log_z[rank] == pytest.approx(brute_log_z(ems[i], trans, start, end), abs=1e-9)
        assert log_z_gold[rank] == pytest.approx(brute_log_z(ems[i], trans, start, end, golds[i]), abs=1e-9)


@pytest.mark.parametrize("unknown,weighted", [(0.0, False), (0.4, True), (0.3, True)])
@pytest.mark.parametrize("seed", range(3))
def test_nll_and_gradients_match_autograd_of_brute_force(seed, unknown, weighted):
    emissions, lengths, gold, trans, start, end = random_case(seed, unknown=unknown)
    rng = numpy.random.default_rng(100 + seed)
    weights = rng.uniform(0.2, 3.0, size=len(lengths)) if weighted else numpy.ones(len(lengths))
    ours = t64(emissions, trans, start, end, grad=True)
    loss = nll(ours[0], lengths, torch.tensor(gold), *ours[1:], weights=torch.tensor(weights) if weighted else None)
    grads = torch.autograd.grad(loss, ours)
    brute = t64(emissions, trans, start, end, grad=True)
    expected = brute_nll(brute[0], lengths, gold, *brute[1:], weights)
    expected_grads = torch.autograd.grad(expected, brute, allow_unused=True)
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-9, abs=1e-9)
    allowed, allowed_start = allowed_transitions(N_LABELS)
    for name, got, want in zip(("emissions", "transitions", "start", "end"), grads, expected_grads):
        want = torch.zeros_like(got) if want is None else want
        numpy.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-9, err_msg=name)
    # forbidden transitions and starts get no gradient
    assert (grads[1].numpy()[~allowed] == 0).all() and (grads[2].numpy()[~allowed_start] == 0).all()


def test_gradient_matches_finite_differences():
    emissions, lengths, gold, trans, start, end = random_case(11, lengths=(3, 2), unknown=0.3)
    E, A, s, e = t64(emissions, trans, start, end, grad=True)
    gold_t = torch.tensor(gold)
    (d_A,) = torch.autograd.grad(nll(E, lengths, gold_t, A, s, e), [A])
    eps = 1e-6
    numeric = numpy.zeros_like(trans)
    for idx in numpy.ndindex(trans.shape):
        plus, minus = trans.copy(), trans.copy()
        plus[idx] += eps
        minus[idx] -= eps
        f = [float(nll(E.detach(), lengths, gold_t, *t64(m), s.detach(), e.detach())) for m in (plus, minus)]
        numeric[idx] = (f[0] - f[1]) / (2 * eps)
    numpy.testing.assert_allclose(d_A.numpy(), numeric, atol=1e-6)


def test_invalid_paths_are_excluded():
    """Huge learned scores on forbidden transitions/starts change nothing."""
    emissions, lengths, gold, trans, start, end = random_case(0)
    allowed, allowed_start = allowed_transitions(N_LABELS)
    base = float(nll(*t64(emissions), lengths, torch.tensor(gold), *t64(trans, start, end)))
    trans2 = numpy.where(allowed, trans, 1e3)
    start2 = numpy.where(allowed_start, start, 1e3)
    other = float(nll(*t64(emissions), lengths, torch.tensor(gold), *t64(trans2, start2, end)))
    assert other == pytest.approx(base)
    # the marginals of forbidden tags at a sequence start are zero
    tags, probs = crf_decode(node(trans2, start2, end), emissions.astype("f"), lengths)
    scores = masked_scores(N_TAGS, *t64(trans2, start2, end), dtype=torch.float64)
    m = flat_marginals(*t64(emissions), lengths, scores).numpy()
    starts = (numpy.cumsum(lengths) - lengths)[lengths > 0]
    assert (m[starts][:, ~allowed_start] == 0).all()


@pytest.mark.parametrize("scale", [1.0, 40.0])
def test_marginals_match_brute_force(scale):
    """Also with scores beyond float32's exp range (the forward-backward runs in
    float64 probabilities, shifted by the maxima)."""
    emissions, lengths, gold, trans, start, end = random_case(2, lengths=(4, 2))
    emissions, trans, start, end = (x * scale for x in (emissions, trans, start, end))
    scores = masked_scores(N_TAGS, *t64(trans, start, end), dtype=torch.float64)
    got = flat_marginals(*t64(emissions), lengths, scores).numpy()
    for offset, em in zip((0, 4), split(emissions, lengths)):
        paths = list(allowed_paths(len(em)))
        path_scores = numpy.asarray([path_score(em, p, trans, start, end) for p in paths])
        probs = numpy.exp(path_scores - path_scores.max())
        probs /= probs.sum()
        expected = numpy.zeros((len(em), N_TAGS))
        for p, prob in zip(paths, probs):
            expected[numpy.arange(len(em)), p] += prob
        numpy.testing.assert_allclose(got[offset : offset + len(em)], expected, atol=1e-12)


def test_fully_known_gradients_are_expected_minus_gold_counts():
    emissions, lengths, gold, trans, start, end = random_case(7)
    E = t64(emissions, grad=True)[0]
    (d_E,) = torch.autograd.grad(nll(E, lengths, torch.tensor(gold), *t64(trans, start, end)), [E])
    scores = masked_scores(N_TAGS, *t64(trans, start, end), dtype=torch.float64)
    m = flat_marginals(E.detach(), lengths, scores).numpy()
    numpy.testing.assert_allclose(d_E.numpy(), m - numpy.eye(N_TAGS)[gold], atol=1e-9)


def test_crf_loss_on_the_node_adds_param_gradients():
    emissions, lengths, gold, trans, start, end = random_case(4, unknown=0.2)
    layer = node(trans, start, end)
    weights = numpy.linspace(0.5, 2.0, len(lengths))
    loss, d_em = crf_loss(layer, emissions.astype("f"), lengths, gold, weights, scale=0.5)
    expected = 0.5 * brute_nll(emissions, lengths, gold, trans, start, end, weights)
    assert loss == pytest.approx(expected, rel=1e-4)
    assert d_em.shape == emissions.shape and d_em.dtype == numpy.float32
    d_trans = layer.get_grad("transitions").copy()
    assert numpy.abs(d_trans).sum() > 0
    crf_loss(layer, emissions.astype("f"), lengths, gold, weights, scale=0.5)
    numpy.testing.assert_allclose(layer.get_grad("transitions"), 2 * d_trans, rtol=1e-5)  # accumulates


def test_all_unknown_gives_zero_loss_and_gradients():
    emissions, lengths, gold, trans, start, end = random_case(3)
    layer = node(trans, start, end)
    loss, d_em = crf_loss(layer, emissions.astype("f"), lengths, numpy.full_like(gold, -1))
    assert loss == pytest.approx(0, abs=1e-4)
    numpy.testing.assert_allclose(d_em, 0, atol=1e-5)
    for name in ("transitions", "start", "end"):
        numpy.testing.assert_allclose(layer.get_grad(name), 0, atol=1e-5)


def test_weights_scale_each_sequence():
    emissions, lengths, gold, trans, start, end = random_case(5, lengths=(3, 4))
    one_layer, both_layer = node(trans, start, end), node(trans, start, end)
    em = emissions.astype("f")
    one, d_one = crf_loss(one_layer, em[:3], [3], gold[:3])
    both, d_both = crf_loss(both_layer, em, lengths, gold, numpy.asarray([2.5, 0.0]))
    assert both == pytest.approx(2.5 * one, rel=1e-5)
    numpy.testing.assert_allclose(d_both[:3], 2.5 * d_one, rtol=1e-5, atol=1e-6)
    assert (d_both[3:] == 0).all()
    numpy.testing.assert_allclose(both_layer.get_grad("transitions"), 2.5 * one_layer.get_grad("transitions"), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("seed", range(10))
def test_viterbi_with_learned_scores_is_best_allowed_path(seed):
    emissions, lengths, _, trans, start, end = random_case(seed, lengths=(5, 1, 3, 4, 2))
    trans, start, end = trans * 3, start * 3, end * 3
    tags, _ = crf_decode(node(trans, start, end), emissions.astype("f"), lengths)
    assert len(tags) == len(emissions)
    for em, path in zip(split(emissions, lengths), split(tags, lengths)):
        if len(em) == 0:
            continue
        best = max(allowed_paths(len(em)), key=lambda p: path_score(em, p, trans, start, end))
        assert tuple(path) == best


def test_viterbi_learned_scores_change_the_decision():
    """Emissions alone prefer B-X B-X; a learned B-X -> I-X bonus makes it B-X I-X;
    an end bonus for B-X makes it B-X B-X again."""
    em = numpy.full((2, N_TAGS), -5.0, dtype="f")
    em[:, 1] = 1.0
    em[1, 2] = 0.5
    zeros = numpy.zeros((N_TAGS, N_TAGS))
    trans, end = zeros.copy(), numpy.zeros(N_TAGS)
    assert crf_decode(node(trans, end, end), em, [2])[0].tolist() == [1, 1]
    trans[1, 2] = 1.0
    assert crf_decode(node(trans, numpy.zeros(N_TAGS), end), em, [2])[0].tolist() == [1, 2]
    end[1] = 2.0
    assert crf_decode(node(trans, numpy.zeros(N_TAGS), end), em, [2])[0].tolist() == [1, 1]


# Constraints only (softmax output: Viterbi over log-probabilities) ------------------


def is_valid_bio(path, n_labels):
    trans, start = allowed_transitions(n_labels)
    if len(path) and not start[path[0]]:
        return False
    return all(trans[a, b] for a, b in zip(path[:-1], path[1:]))


def random_probs(rng, n, n_tags):
    x = numpy.exp(rng.normal(size=(n, n_tags)) * 3)
    return (x / x.sum(axis=1, keepdims=True)).astype("f")


@pytest.mark.parametrize("seed", range(10))
def test_constrained_viterbi_over_probabilities_is_valid_and_optimal(seed):
    rng = numpy.random.default_rng(seed)
    labels = ["LOC", "MISC", "ORG", "PERS"]
    lengths = rng.integers(1, 40, size=7)
    probs = random_probs(rng, int(lengths.sum()), 9)
    tags, chosen = crf_decode(None, probs, lengths)
    numpy.testing.assert_allclose(chosen, probs[numpy.arange(len(tags)), tags])
    for path in split(tags, lengths):
        assert is_valid_bio(path, 4)
        for start_i, end_i, label in tag_ids_to_spans(path, labels):
            assert path[start_i] == 2 * labels.index(label) + 1
    # optimal on short sequences
    small = random_probs(rng, 5, N_TAGS)
    [path] = [crf_decode(None, small, [5])[0]]
    logp = numpy.log(small + 1e-8)
    best = max(allowed_paths(5), key=lambda p: sum(logp[t, y] for t, y in enumerate(p)))
    assert sum(logp[t, y] for t, y in enumerate(path)) == pytest.approx(sum(logp[t, y] for t, y in enumerate(best)), abs=1e-5)


def test_decoding_is_independent_of_the_batch():
    rng = numpy.random.default_rng(3)
    lengths = [6, 16, 6, 500, 1]
    emissions = (rng.normal(size=(sum(lengths), 9)) * 3).astype("f")
    layer = node(rng.normal(size=(9, 9)), rng.normal(size=9), rng.normal(size=9))
    together, p_together = crf_decode(layer, emissions, lengths)
    alone = [crf_decode(layer, em, [len(em)]) for em in split(emissions, lengths)]
    assert together.tolist() == numpy.concatenate([a[0] for a in alone]).tolist()
    numpy.testing.assert_allclose(p_together, numpy.concatenate([a[1] for a in alone]), atol=1e-6)


def test_outside_only_tokens_are_o():
    rng = numpy.random.default_rng(1)
    emissions = (rng.normal(size=(6, N_TAGS)) + numpy.asarray([-9, 5, 5, 5, 5])).astype("f")
    forced = numpy.asarray([False, True, False, False, True, False])
    for crf in (None, node(numpy.zeros((N_TAGS, N_TAGS)), numpy.zeros(N_TAGS), numpy.zeros(N_TAGS))):
        em = emissions if crf is not None else random_probs(rng, 6, N_TAGS)
        tags, _ = crf_decode(crf, em, [3, 3], forced)
        assert (tags[forced] == 0).all() and is_valid_bio(tags[:3], N_LABELS) and is_valid_bio(tags[3:], N_LABELS)


# Gold checks, the node, optimisation ------------------------------------------------


def test_invalid_gold_raises_and_repair_fixes_it():
    layer = node(numpy.zeros((N_TAGS, N_TAGS)), numpy.zeros(N_TAGS), numpy.zeros(N_TAGS))
    emissions = numpy.zeros((5, N_TAGS), "f")
    gold = numpy.asarray([2, 0, 2, -1, 2])  # I-X at a start, O -> I-X, ? -> I-X (fine)
    with pytest.raises(ValueError, match="sequence 0, token 0"):
        crf_loss(layer, emissions, [5], gold)
    fixed, n_fixed = repair_bio(gold, [5])
    assert fixed.tolist() == [1, 0, 1, -1, 2] and n_fixed == 2
    # a sequence boundary inside an entity: I-X opening the second sequence
    fixed, n_fixed = repair_bio([1, 2, 2, 0], [2, 2])
    assert fixed.tolist() == [1, 2, 1, 0] and n_fixed == 1
    assert numpy.isfinite(crf_loss(layer, emissions, [5], repair_bio(gold, [5])[0])[0])
    with pytest.raises(ValueError, match="lengths"):
        crf_loss(layer, emissions, [4], gold)
    with pytest.raises(ValueError, match="gold tag ids"):
        crf_loss(layer, emissions, [5], numpy.asarray([0, 0, 0, 0, 9]))


def test_node_init_resize_and_serialization():
    layer = crf_layer()
    with pytest.raises(ValueError, match="nO"):
        layer.initialize()
    with pytest.raises(ValueError, match="BIO tag count"):
        crf_layer(4).initialize()
    layer = node(*[numpy.arange(n, dtype="f").reshape(shape) + 1 for n, shape in ((25, (5, 5)), (5, (5,)), (5, (5,)))])
    assert [p for p in ("transitions", "start", "end") if layer.has_param(p)] == ["transitions", "start", "end"]
    restored = crf_layer(5).from_bytes(layer.to_bytes())
    numpy.testing.assert_array_equal(restored.get_param("transitions"), layer.get_param("transitions"))
    grown = resized_crf_layer(layer, 7)
    assert grown.get_param("transitions").shape == (7, 7)
    numpy.testing.assert_array_equal(grown.get_param("transitions")[:5, :5], layer.get_param("transitions"))
    assert not grown.get_param("transitions")[5:].any() and not grown.get_param("end")[5:].any()
    assert grown.get_param("transitions")[:5, :5].any()  # the learned (nonzero) rows are kept
    with pytest.raises(ValueError, match="shrink"):
        resized_crf_layer(layer, 3)


def test_float32_long_sequence_is_stable():
    rng = numpy.random.default_rng(0)
    lengths = numpy.asarray([3000, 7, 1])
    emissions = (rng.normal(size=(int(lengths.sum()), N_TAGS)) * 20)
    gold = numpy.full(int(lengths.sum()), -1)
    gold[::3] = 0
    trans, start = rng.normal(size=(N_TAGS, N_TAGS)) * 5, rng.normal(size=N_TAGS)
    end = numpy.zeros(N_TAGS)
    loss32, d32 = crf_loss(node(trans, start, end), emissions.astype("f"), lengths, gold)
    E = t64(emissions, grad=True)[0]
    loss64 = nll(E, lengths, torch.tensor(gold), *t64(trans.astype("f"), start.astype("f"), end))
    (d64,) = torch.autograd.grad(loss64, [E])
    assert d32.dtype == numpy.float32 and numpy.isfinite(d32).all()
    assert loss32 == pytest.approx(float(loss64.detach()), rel=1e-4)
    numpy.testing.assert_allclose(d32, d64.numpy(), atol=1e-4)


def test_gradient_descent_learns_transitions():
    """Word 'c' is O after B-X and B-Y after O: emissions of a per-word model cannot
    tell them apart, even under BIO constraints; learned transitions must."""
    words = {"o": 0, "a": 1, "c": 2}
    data = [("o a a o", [0, 1, 2, 0]), ("a c", [1, 0]), ("o c", [0, 3]), ("a a a o c", [1, 2, 2, 0, 3])]
    word_ids = numpy.asarray([words[w] for text, _ in data for w in text.split()])
    gold = numpy.asarray([tag for _, tags in data for tag in tags])
    lengths = [len(tags) for _, tags in data]
    layer = node(numpy.zeros((N_TAGS, N_TAGS)), numpy.zeros(N_TAGS), numpy.zeros(N_TAGS))
    W = numpy.zeros((len(words), N_TAGS), "f")
    losses = []
    for _ in range(200):
        loss, d_em = crf_loss(layer, W[word_ids], lengths, gold)
        losses.append(loss)
        d_W = numpy.zeros_like(W)
        numpy.add.at(d_W, word_ids, d_em)
        W -= 0.3 * d_W
        for name in ("transitions", "start", "end"):
            layer.set_param(name, layer.get_param(name) - 0.3 * layer.get_grad(name))
            layer.set_grad(name, numpy.zeros_like(layer.get_grad(name)))
    assert losses[-1] < 0.05 * losses[0]
    assert crf_decode(layer, W[word_ids], lengths)[0].tolist() == gold.tolist()
    trans = layer.get_param("transitions")
    assert trans[1, 0] > trans[1, 3] and trans[0, 3] > trans[0, 0]


def test_empty_input_and_empty_sequences():
    layer = node(numpy.zeros((N_TAGS, N_TAGS)), numpy.zeros(N_TAGS), numpy.zeros(N_TAGS))
    emissions = numpy.zeros((0, N_TAGS), dtype="f")
    loss, d_em = crf_loss(layer, emissions, [], numpy.zeros((0,), "int64"))
    assert loss == 0 and d_em.shape == (0, N_TAGS)
    tags, probs = crf_decode(layer, emissions, [])
    assert tags.shape == probs.shape == (0,)
    # the model's segments are never empty: an empty one is an error, not skipped
    with pytest.raises(ValueError, match="positive"):
        crf_decode(layer, numpy.zeros((3, N_TAGS), "f"), [3, 0])


def test_confidences_only_when_asked(monkeypatch):
    """Without ``confidences`` decoding is Viterbi alone: the forward-backward pass does
    not run; with them the tags are the same."""
    from spacy_rnn_ner.layers import crf as crf_module

    emissions, lengths, _, trans, start, end = random_case(6)
    layer = node(trans, start, end)
    calls = []
    real = crf_module.marginals
    monkeypatch.setattr(crf_module, "marginals", lambda *args: calls.append(1) or real(*args))
    tags, probs = crf_decode(layer, emissions.astype("f"), lengths, confidences=False)
    assert probs is None and calls == []
    tags_too, probs = crf_decode(layer, emissions.astype("f"), lengths)
    assert calls == [1] and tags_too.tolist() == tags.tolist()
    assert ((probs > 0) & (probs <= 1)).all()


def test_marginals_need_no_autograd_and_stay_exact_on_a_long_sequence(monkeypatch):
    """Forward-backward in float64 without autograd (it runs under inference mode); on
    a 20,000-token sequence (decoded whole, not in windows) with large scores every
    position's marginals sum to one."""
    from spacy_rnn_ner.layers import long_segments

    monkeypatch.setattr(long_segments, "MAX_LENGTH", 100_000)
    rng = numpy.random.default_rng(2)
    lengths = numpy.asarray([20000, 3])
    emissions = (rng.normal(size=(int(lengths.sum()), N_TAGS)) * 20).astype("f")
    layer = node(rng.normal(size=(N_TAGS, N_TAGS)) * 5, rng.normal(size=N_TAGS), rng.normal(size=N_TAGS))
    with torch.inference_mode():
        tags, probs = crf_decode(layer, emissions, lengths)
        scores = masked_scores(N_TAGS, *[torch.tensor(layer.get_param(n)) for n in ("transitions", "start", "end")],
                               dtype=torch.float64)
        m = flat_marginals(torch.tensor(emissions), lengths, scores).numpy()
    numpy.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-9)
    numpy.testing.assert_allclose(probs, m[numpy.arange(len(tags)), tags], atol=1e-6)


def test_long_sequences_decode_in_the_rnn_windows(monkeypatch):
    """A sequence longer than ``MAX_LENGTH`` is decoded in windows with context: windows
    whose context reaches the whole sequence give the exact path and confidences; with
    a short context the path is still valid BIO (an ``I-X`` that a core boundary leaves
    after another tag becomes ``B-X``) and all but a few tags are the exact ones."""
    from spacy_rnn_ner.layers import long_segments

    rng = numpy.random.default_rng(4)
    lengths = numpy.asarray([7, 300, 2, 420])
    emissions = (rng.normal(size=(int(lengths.sum()), N_TAGS)) * 2).astype("f")
    layer = node(rng.normal(size=(N_TAGS, N_TAGS)) * 2, rng.normal(size=N_TAGS), rng.normal(size=N_TAGS))
    exact_tags, exact_probs = crf_decode(layer, emissions, lengths)
    monkeypatch.setattr(long_segments, "MAX_LENGTH", 20)
    monkeypatch.setattr(long_segments, "CONTEXT", 1000)
    tags, probs = crf_decode(layer, emissions, lengths)
    assert tags.tolist() == exact_tags.tolist()
    numpy.testing.assert_allclose(probs, exact_probs, atol=1e-5)
    from spacy_rnn_ner.layers import crf as crf_module

    repaired = []
    real = crf_module.repair_bio
    monkeypatch.setattr(crf_module, "repair_bio", lambda *a: (lambda r: repaired.append(r[1]) or r)(real(*a)))
    for context in (1, 2, 5):
        monkeypatch.setattr(long_segments, "CONTEXT", context)
        tags, probs = crf_decode(layer, emissions, lengths)
        for sequence in split(tags, lengths):
            assert is_valid_bio(sequence, N_LABELS)
        assert (tags == exact_tags).mean() > 0.9 and probs.shape == exact_probs.shape
    assert sum(repaired) > 0  # core boundaries did leave an I-X to repair
