"""Linear-chain CRF: partition, NLL, gradients and decoding against brute force over all
tag paths; masked BIO transitions; unknown gold tokens; weights; a toy optimisation."""
import itertools
import time

import numpy
import pytest

from spacy_rnn_ner.bio import allowed_transitions, viterbi_decode
from spacy_rnn_ner.crf import (
    crf_decode,
    crf_log_partition,
    crf_marginals,
    crf_nll,
    init_transitions,
    repair_bio,
)

N_LABELS = 2
N_TAGS = 1 + 2 * N_LABELS


def random_case(seed, lengths=(3, 1, 5, 0, 2, 4), unknown=0.0):
    """Emissions, lengths, valid gold (with a share of unknown tokens), parameters."""
    rng = numpy.random.default_rng(seed)
    n = sum(lengths)
    emissions = rng.normal(size=(n, N_TAGS)) * 2
    trans, start, end = rng.normal(size=(N_TAGS, N_TAGS)), rng.normal(size=N_TAGS), rng.normal(size=N_TAGS)
    gold = numpy.concatenate([random_valid_path(rng, L) for L in lengths]).astype("int64")
    gold[rng.random(n) < unknown] = -1
    return emissions, list(lengths), gold, trans, start, end


def random_valid_path(rng, length):
    allowed, allowed_start = allowed_transitions(N_LABELS)
    path = []
    for t in range(length):
        ok = allowed_start if t == 0 else allowed[path[-1]]
        path.append(int(rng.choice(numpy.flatnonzero(ok))))
    return numpy.asarray(path, dtype="int64")


def allowed_paths(length):
    allowed, allowed_start = allowed_transitions(N_LABELS)
    for path in itertools.product(range(N_TAGS), repeat=length):
        if allowed_start[path[0]] and all(allowed[a, b] for a, b in zip(path[:-1], path[1:])):
            yield path


def path_score(em, path, trans, start, end):
    score = start[path[0]] + end[path[-1]] + sum(em[t, y] for t, y in enumerate(path))
    return score + sum(trans[a, b] for a, b in zip(path[:-1], path[1:]))


def brute_log_z(em, trans, start, end, gold=None):
    scores = [
        path_score(em, p, trans, start, end)
        for p in allowed_paths(len(em))
        if gold is None or all(g < 0 or g == y for g, y in zip(gold, p))
    ]
    return numpy.logaddexp.reduce(scores)


def split(array, lengths):
    return numpy.split(array, numpy.cumsum(lengths)[:-1])


def brute_nll(emissions, lengths, gold, trans, start, end, weights):
    return sum(
        w * (brute_log_z(em, trans, start, end) - brute_log_z(em, trans, start, end, g))
        for em, g, w, L in zip(split(emissions, lengths), split(gold, lengths), weights, lengths)
        if L
    )


@pytest.mark.parametrize("seed", range(4))
def test_log_partition_matches_brute_force(seed):
    emissions, lengths, gold, trans, start, end = random_case(seed, unknown=0.4)
    log_z = crf_log_partition(emissions, lengths, trans, start, end)
    log_z_gold = crf_log_partition(emissions, lengths, trans, start, end, gold=gold)
    for i, (em, g) in enumerate(zip(split(emissions, lengths), split(gold, lengths))):
        if lengths[i] == 0:
            assert log_z[i] == 0
            continue
        assert log_z[i] == pytest.approx(brute_log_z(em, trans, start, end), abs=1e-9)
        assert log_z_gold[i] == pytest.approx(brute_log_z(em, trans, start, end, g), abs=1e-9)


def test_invalid_paths_are_excluded():
    """Huge learned scores on forbidden transitions/starts change nothing."""
    emissions, lengths, gold, trans, start, end = random_case(0)
    allowed, allowed_start = allowed_transitions(N_LABELS)
    base = crf_nll(emissions, lengths, gold, trans, start, end)
    trans2 = numpy.where(allowed, trans, 1e3)
    start2 = numpy.where(allowed_start, start, 1e3)
    other = crf_nll(emissions, lengths, gold, trans2, start2, end)
    assert other.loss == pytest.approx(base.loss)
    numpy.testing.assert_allclose(other.d_emissions, base.d_emissions, atol=1e-12)
    assert (base.d_transitions[~allowed] == 0).all() and (base.d_start[~allowed_start] == 0).all()
    # the marginals of forbidden tags at a sequence start are zero
    marginals = crf_marginals(emissions, lengths, trans2, start2, end)
    starts = numpy.cumsum(lengths)[:-1][numpy.asarray(lengths[1:]) > 0]
    assert (marginals[numpy.r_[0, starts]][:, ~allowed_start] == 0).all()


@pytest.mark.parametrize("unknown,weighted,with_end", [(0.0, False, True), (0.4, True, True), (0.3, True, False)])
@pytest.mark.parametrize("seed", range(3))
def test_nll_and_gradients(seed, unknown, weighted, with_end):
    emissions, lengths, gold, trans, start, end = random_case(seed, unknown=unknown)
    end = end if with_end else None
    rng = numpy.random.default_rng(100 + seed)
    weights = rng.uniform(0.2, 3.0, size=len(lengths)) if weighted else numpy.ones(len(lengths))
    result = crf_nll(emissions, lengths, gold, trans, start, end, weights=weights if weighted else None)
    zeros = numpy.zeros(N_TAGS)
    expected = brute_nll(emissions, lengths, gold, trans, start, zeros if end is None else end, weights)
    assert result.loss == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert (result.d_end is None) == (end is None)

    params = {"emissions": emissions, "trans": trans, "start": start}
    grads = {"emissions": result.d_emissions, "trans": result.d_transitions, "start": result.d_start}
    if end is not None:
        params["end"], grads["end"] = end, result.d_end

    def loss_of(**changed):
        p = {**params, **changed}
        return crf_nll(p["emissions"], lengths, gold, p["trans"], p["start"], p.get("end"), weights=weights).loss

    eps = 1e-6
    for name, value in params.items():
        numeric = numpy.zeros_like(value)
        for idx in numpy.ndindex(value.shape):
            plus, minus = value.copy(), value.copy()
            plus[idx] += eps
            minus[idx] -= eps
            numeric[idx] = (loss_of(**{name: plus}) - loss_of(**{name: minus})) / (2 * eps)
        numpy.testing.assert_allclose(grads[name], numeric, atol=1e-6, err_msg=name)


def test_fully_known_gradients_are_expected_minus_gold_counts():
    emissions, lengths, gold, trans, start, end = random_case(7)
    result = crf_nll(emissions, lengths, gold, trans, start, end)
    marginals = crf_marginals(emissions, lengths, trans, start, end)
    numpy.testing.assert_allclose(result.d_emissions, marginals - numpy.eye(N_TAGS)[gold], atol=1e-9)
    numpy.testing.assert_allclose(result.d_emissions.sum(axis=1), 0, atol=1e-9)


def test_all_unknown_gives_zero_loss_and_gradients():
    emissions, lengths, gold, trans, start, end = random_case(3)
    result = crf_nll(emissions, lengths, numpy.full_like(gold, -1), trans, start, end)
    assert result.loss == pytest.approx(0, abs=1e-9)
    for grad in result[1:]:
        numpy.testing.assert_allclose(grad, 0, atol=1e-9)


def test_weights_scale_each_sequence():
    emissions, lengths, gold, trans, start, end = random_case(5, lengths=(3, 4))
    one = crf_nll(emissions[:3], [3], gold[:3], trans, start, end)
    both = crf_nll(emissions, lengths, gold, trans, start, end, weights=[2.5, 0.0])
    assert both.loss == pytest.approx(2.5 * one.loss)
    numpy.testing.assert_allclose(both.d_emissions[:3], 2.5 * one.d_emissions)
    assert (both.d_emissions[3:] == 0).all()
    numpy.testing.assert_allclose(both.d_transitions, 2.5 * one.d_transitions)


def test_marginals_match_brute_force():
    emissions, lengths, gold, trans, start, end = random_case(2, lengths=(4, 2))
    marginals = crf_marginals(emissions, lengths, trans, start, end)
    for offset, em in zip((0, 4), split(emissions, lengths)):
        paths = list(allowed_paths(len(em)))
        probs = numpy.exp([path_score(em, p, trans, start, end) for p in paths])
        probs /= probs.sum()
        expected = numpy.zeros((len(em), N_TAGS))
        for p, prob in zip(paths, probs):
            expected[numpy.arange(len(em)), p] += prob
        numpy.testing.assert_allclose(marginals[offset : offset + len(em)], expected, atol=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_viterbi_with_learned_scores_is_best_allowed_path(seed):
    emissions, lengths, _, trans, start, end = random_case(seed, lengths=(5, 1, 0, 3, 4, 2))
    trans, start, end = trans * 3, start * 3, end * 3
    allowed, allowed_start = allowed_transitions(N_LABELS)
    paths = crf_decode(emissions, lengths, trans, start, end)
    direct = viterbi_decode(split(emissions, lengths), allowed, allowed_start, trans, start, end)
    for em, path, other in zip(split(emissions, lengths), paths, direct):
        assert list(path) == list(other)
        if len(em) == 0:
            assert len(path) == 0
            continue
        best = max(allowed_paths(len(em)), key=lambda p: path_score(em, p, trans, start, end))
        assert tuple(path) == best


def test_viterbi_learned_scores_change_the_decision():
    """Emissions alone prefer B-X B-X; a learned B-X -> I-X bonus makes it B-X I-X."""
    allowed, allowed_start = allowed_transitions(N_LABELS)
    em = numpy.full((2, N_TAGS), -5.0)
    em[:, 1] = 1.0
    em[1, 2] = 0.5
    assert viterbi_decode([em], allowed, allowed_start)[0].tolist() == [1, 1]
    trans = numpy.zeros((N_TAGS, N_TAGS))
    trans[1, 2] = 1.0
    assert viterbi_decode([em], allowed, allowed_start, trans)[0].tolist() == [1, 2]
    end = numpy.zeros(N_TAGS)
    end[1] = 2.0
    assert viterbi_decode([em], allowed, allowed_start, trans, end_scores=end)[0].tolist() == [1, 1]


def test_invalid_gold_raises_and_repair_fixes_it():
    emissions = numpy.zeros((5, N_TAGS))
    gold = numpy.asarray([2, 0, 2, -1, 2])  # I-X at a start, O -> I-X, ? -> I-X (fine)
    params = init_transitions(N_LABELS, dtype="float64")
    with pytest.raises(ValueError, match="sequence 0, token 0"):
        crf_nll(emissions, [5], gold, params.transitions, params.start)
    fixed, n_fixed = repair_bio(gold, [5])
    assert fixed.tolist() == [1, 0, 1, -1, 2] and n_fixed == 2
    # a sequence boundary inside an entity: I-X opening the second sequence
    fixed, n_fixed = repair_bio([1, 2, 2, 0], [2, 2])
    assert fixed.tolist() == [1, 2, 1, 0] and n_fixed == 1
    assert numpy.isfinite(crf_nll(emissions, [5], repair_bio(gold, [5])[0], params.transitions, params.start).loss)
    with pytest.raises(ValueError, match="lengths"):
        crf_nll(emissions, [4], gold, params.transitions, params.start)
    with pytest.raises(ValueError, match="gold tag ids"):
        crf_nll(emissions, [5], [0, 0, 0, 0, 9], params.transitions, params.start)


def test_init_transitions():
    params = init_transitions(4)
    assert params.transitions.shape == (9, 9) and params.start.shape == params.end.shape == (9,)
    assert not params.transitions.any() and params.transitions.dtype == numpy.float32
    assert params.allowed.sum() == 81 - 4 * 7 and params.allowed_start.sum() == 5


def test_float32_long_sequence_is_stable():
    rng = numpy.random.default_rng(0)
    lengths = [3000, 7, 1]
    emissions = (rng.normal(size=(sum(lengths), N_TAGS)) * 20).astype("float32")
    gold = numpy.full(sum(lengths), -1)
    gold[::3] = 0
    trans, start = rng.normal(size=(N_TAGS, N_TAGS)) * 5, rng.normal(size=N_TAGS)
    r32 = crf_nll(emissions, lengths, gold, trans.astype("f"), start.astype("f"))
    r64 = crf_nll(emissions.astype("float64"), lengths, gold, trans, start)
    assert r32.d_emissions.dtype == numpy.float32 and numpy.isfinite(r32.d_emissions).all()
    assert r32.loss == pytest.approx(r64.loss, rel=1e-4)
    numpy.testing.assert_allclose(r32.d_emissions, r64.d_emissions, atol=1e-4)
    numpy.testing.assert_allclose(r32.d_transitions, r64.d_transitions, rtol=1e-3, atol=1e-2)


def test_gradient_descent_learns_transitions():
    """Word 'c' is O after B-X and B-Y after O: emissions of a per-word model cannot
    tell them apart, even under BIO constraints; learned transitions must."""
    words = {"o": 0, "a": 1, "c": 2}
    data = [("o a a o", [0, 1, 2, 0]), ("a c", [1, 0]), ("o c", [0, 3]), ("a a a o c", [1, 2, 2, 0, 3])]
    word_ids = numpy.asarray([words[w] for text, _ in data for w in text.split()])
    gold = numpy.asarray([tag for _, tags in data for tag in tags])
    lengths = [len(tags) for _, tags in data]
    params = init_transitions(N_LABELS, dtype="float64")
    W = numpy.zeros((len(words), N_TAGS))
    trans, start, end = params.transitions, params.start, params.end
    losses = []
    for _ in range(200):
        r = crf_nll(W[word_ids], lengths, gold, trans, start, end)
        losses.append(r.loss)
        d_W = numpy.zeros_like(W)
        numpy.add.at(d_W, word_ids, r.d_emissions)
        W, trans, start, end = W - 0.3 * d_W, trans - 0.3 * r.d_transitions, start - 0.3 * r.d_start, end - 0.3 * r.d_end
    assert losses[-1] < 0.05 * losses[0]
    paths = crf_decode(W[word_ids], lengths, trans, start, end)
    assert numpy.concatenate(paths).tolist() == gold.tolist()
    assert trans[1, 0] > trans[1, 3] and trans[0, 3] > trans[0, 0]


def test_speed_report():
    """Prints timings for the ner-uk setting (4 labels, 9 tags): 10,000 tokens in 500
    sequences. Not asserted (shared CPUs), see the report."""
    rng = numpy.random.default_rng(0)
    lengths = (rng.multinomial(10000 - 500, [1 / 500] * 500) + 1).tolist()
    n_labels = 4
    emissions = rng.normal(size=(10000, 9)).astype("float32")
    params = init_transitions(n_labels)
    gold = numpy.concatenate(
        [numpy.zeros(L, dtype="int64") for L in lengths]
    )
    gold[rng.random(10000) < 0.05] = -1
    crf_nll(emissions, lengths, gold, params.transitions, params.start, params.end)
    timings = {}
    for name, fn in {
        "decode": lambda: crf_decode(emissions, lengths, params.transitions, params.start, params.end),
        "nll+grads": lambda: crf_nll(emissions, lengths, gold, params.transitions, params.start, params.end),
    }.items():
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        timings[name] = best
    print("\nCRF speed, 10,000 tokens / 500 sequences / 9 tags: "
          + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in timings.items()))


def test_empty_input():
    params = init_transitions(N_LABELS)
    emissions = numpy.zeros((0, N_TAGS), dtype="f")
    for lengths in ([], [0, 0]):
        result = crf_nll(emissions, lengths, numpy.zeros((0,), "int64"), params.transitions, params.start, params.end)
        assert result.loss == 0 and result.d_emissions.shape == (0, N_TAGS) and not result.d_transitions.any()
        assert [len(p) for p in crf_decode(emissions, lengths, params.transitions, params.start)] == lengths
