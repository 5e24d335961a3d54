"""Prediction over long segments (layers/long_segments.py): windows with context, calls
of bounded size, every token's state taken once, training unchanged."""
import numpy
import pytest

from conftest import TRAIN_DATA, build_nlp, ents_of, make_examples
from spacy_rnn_ner.layers import long_segments
from spacy_rnn_ner.layers.long_segments import plan_calls


def test_short_batches_run_unchanged():
    assert plan_calls(numpy.asarray([5, 1000, 3]), max_length=1000, context=100, max_tokens=2000) == []
    assert plan_calls(numpy.asarray([], dtype="int64")) == []


@pytest.mark.parametrize("lengths", [[2500], [3, 2500, 40, 1200], [999, 1001, 1]])
def test_calls_cover_every_token_once_with_context(lengths):
    lengths = numpy.asarray(lengths)
    calls = plan_calls(lengths, max_length=1000, context=100, max_tokens=1500)
    assert calls
    tokens = numpy.concatenate([call.tokens for call in calls])
    assert sorted(tokens.tolist()) == list(range(int(lengths.sum())))
    starts = numpy.cumsum(lengths) - lengths
    segment_of = numpy.searchsorted(numpy.cumsum(lengths), numpy.arange(lengths.sum()), side="right")
    for call in calls:
        assert call.lengths.sum() == len(call.rows)
        assert call.lengths.sum() <= 1500 or len(call.lengths) == 1
        assert (call.lengths <= 1000 + 2 * 100).all()
        # each kept output row is the token's own input row
        assert (call.rows[call.out] == call.tokens).all()
        # a window never crosses its segment
        window_starts = numpy.cumsum(call.lengths) - call.lengths
        for start, n in zip(window_starts, call.lengths):
            assert len(set(segment_of[call.rows[start:start + n]].tolist())) == 1
    # a window's core is seen with up to 100 tokens of its segment on each side
    for call in calls:
        window_starts = numpy.cumsum(call.lengths) - call.lengths
        for start, n in zip(window_starts, call.lengths):
            rows = call.rows[start:start + n]
            segment = segment_of[rows[0]]
            seg_start, seg_end = starts[segment], starts[segment] + lengths[segment]
            core = call.tokens[(call.out >= start) & (call.out < start + n)]
            assert rows[0] == max(seg_start, core[0] - 100) and rows[-1] == min(seg_end, core[-1] + 101) - 1


def predictions(nlp, texts):
    docs = list(nlp.pipe(texts))
    return [ents_of(d) for d in docs], numpy.concatenate(
        [nlp.get_pipe("rnn_ner").model.predict([nlp.make_doc(t)]).scores for t in texts])


@pytest.fixture(scope="module")
def trained():
    nlp = build_nlp()
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(20):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    return nlp


def test_windows_that_see_their_whole_segment_give_the_same_states(trained, monkeypatch):
    """Windows of 3 tokens with a context longer than any text: each window sees its
    whole segment, so every state equals the one-call state; calls of 8 tokens."""
    texts = [text for text, _ in TRAIN_DATA]
    ents, scores = predictions(trained, texts)
    monkeypatch.setattr(long_segments, "MAX_LENGTH", 3)
    monkeypatch.setattr(long_segments, "CONTEXT", 10_000)
    monkeypatch.setattr(long_segments, "MAX_TOKENS", 8)
    used = []
    real = long_segments.plan_calls
    monkeypatch.setattr(long_segments, "plan_calls", lambda *a: used.append(1) or real(*a))
    windowed_ents, windowed_scores = predictions(trained, texts)
    assert used and windowed_ents == ents
    numpy.testing.assert_allclose(windowed_scores, scores, rtol=1e-4, atol=1e-5)
    # without context the windows see less: other states (the windows are really used)
    monkeypatch.setattr(long_segments, "CONTEXT", 0)
    assert not numpy.allclose(predictions(trained, texts)[1], scores, rtol=1e-4, atol=1e-5)


def test_training_never_windows(trained, monkeypatch):
    monkeypatch.setattr(long_segments, "MAX_LENGTH", 1)
    monkeypatch.setattr(long_segments, "MAX_TOKENS", 1)
    model = trained.get_pipe("rnn_ner").model
    docs = [trained.make_doc(text) for text, _ in TRAIN_DATA]
    scores, backprop = model(docs, is_train=True)
    backprop(model.ops.alloc2f(*scores.scores.shape))  # a gradient: the training path
    _, predict_backprop = model(docs, is_train=False)
    with pytest.raises(ValueError, match="for prediction"):
        predict_backprop(model.ops.alloc2f(*scores.scores.shape))
