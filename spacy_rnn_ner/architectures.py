"""Registered, versioned model architectures usable from any spaCy config.

- ``spacy_rnn_ner.RNNTagger.v2``: token vectors → packed (bi)RNN/GRU/LSTM over sentence
  segments → softmax over BIO tags or a CRF (``v1``: the same model in the layout v1 pipelines were saved with)
- ``spacy_rnn_ner.RNNTagger.v3``: ``v2`` with document context between the RNN and the output
- ``spacy_rnn_ner.TokenFeatures.v1``: hash embeddings (+ static vectors) ⊕ character encoder ⊕ extra features
- ``spacy_rnn_ner.CharCNN.v1``: character CNN word encoder
- ``spacy_rnn_ner.LexiconFeatures.v1``: gazetteer / morphological-tag features
"""
from typing import Any, Dict, List, Optional

from spacy.attrs import (
    IS_ALPHA, IS_ASCII, IS_BRACKET, IS_CURRENCY, IS_DIGIT, IS_LEFT_PUNCT, IS_LOWER, IS_PUNCT, IS_QUOTE,
    IS_RIGHT_PUNCT, IS_SPACE, IS_STOP, IS_TITLE, IS_UPPER, LENGTH, LIKE_EMAIL, LIKE_NUM, LIKE_URL, LOWER,
    NORM, ORTH, PREFIX, SHAPE, SUFFIX, intify_attr,
)
from spacy.ml.models.tok2vec import MultiHashEmbed
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, get_current_ops
from thinc.types import Floats2d

from .errors import config_error
from .layers.char_cnn import char_cnn_layer
from .layers.crf import crf_layer
from .layers.doc_context import doc_context_layer
from .layers.lexicon_features import lexicon_features_layer
from .layers.packed_rnn import RNN_TYPES, packed_rnn_layer
from .layers.rnn_tagger import OUTPUTS, make_output_layer, rnn_tagger_model
from .layers.unique_words import dedupe_static_vectors, token_features_forward

DEFAULT_ATTRS = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
# attributes of the word itself (its lexeme, and the token's norm, which unique_words
# keeps): the same for every occurrence of a word
WORD_ATTRS = {
    ORTH, LOWER, NORM, SHAPE, PREFIX, SUFFIX, LENGTH, IS_ALPHA, IS_ASCII, IS_DIGIT, IS_LOWER, IS_UPPER,
    IS_TITLE, IS_PUNCT, IS_SPACE, IS_STOP, IS_BRACKET, IS_QUOTE, IS_LEFT_PUNCT, IS_RIGHT_PUNCT,
    IS_CURRENCY, LIKE_URL, LIKE_NUM, LIKE_EMAIL,
}


def _check_positive(arch: str, **settings: int) -> None:
    for name, value in settings.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise config_error(arch, name, f"{arch}: '{name}' must be a positive integer, got {value!r}.")


def _check_rate(arch: str, name: str, value: float) -> None:
    """A rate in [0, 1): a number (not a string such as 'nan' from the command line, not
    NaN), else a config error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise config_error(arch, name, f"{arch}: '{name}' must be in [0, 1), got {value!r}.")


def _on_cuda() -> bool:
    return get_current_ops().device_type == "gpu"


@registry.architectures("spacy_rnn_ner.RNNTagger.v2")
def build_rnn_tagger(
    tok2vec: Model[List[Doc], List[Floats2d]],
    rnn_type: str = "lstm",
    hidden_width: int = 128,
    depth: int = 1,
    bidirectional: bool = True,
    dropout: float = 0.3,
    token_dropout: float = 0.0,
    mixed_precision: bool = False,
    sentence_level: bool = True,
    output: str = "softmax",
    nO: Optional[int] = None,
) -> Model[List[Doc], List[Floats2d]]:
    """Per-token scores over BIO tags from a recurrent network.

    tok2vec: token vectors, e.g. ``spacy_rnn_ner.TokenFeatures.v1`` or a listener
        (``spacy.Tok2VecListener.v1``, spacy-transformers' ``TransformerListener.v1``)
        onto a shared component; a listener's width may be left unset (null): it is
        taken from the upstream component at ``initialize``.
    rnn_type: ``"rnn"``, ``"gru"`` or ``"lstm"`` (``torch.nn.RNN``/``GRU``/``LSTM``).
    hidden_width: units per direction; depth: stacked layers.
    dropout: dropout rate on the RNN's input, between stacked layers and on its
        output; active in training (``nlp.update``), off at prediction.
    token_dropout: rate at which whole token vectors are zeroed before the RNN in
        training (word dropout), against memorising a small training set.
    mixed_precision: autocast on CUDA; ignored (off) on CPU.
    sentence_level: run the RNN (and decode) over each sentence of a doc when the doc
        has sentence boundaries (e.g. from a ``sentencizer`` before this component),
        rather than over the whole doc.
    output: ``"softmax"``: tag probabilities, trained with cross-entropy and decoded
        by Viterbi under hard BIO constraints; ``"crf"``: unnormalised tag scores and a
        learned linear-chain CRF over the valid BIO transitions (trained on the
        sentence's likelihood, decoded by Viterbi with the learned transitions).
    nO: number of BIO tags; leave it null: it is set from the component's labels.
    """
    return _rnn_tagger("spacy_rnn_ner.RNNTagger.v2", **locals(), doc_context=False, context_depth=0,
                       legacy_layout=False)


@registry.architectures("spacy_rnn_ner.RNNTagger.v3")
def build_rnn_tagger_v3(
    tok2vec: Model[List[Doc], List[Floats2d]],
    rnn_type: str = "lstm",
    hidden_width: int = 128,
    depth: int = 1,
    bidirectional: bool = True,
    dropout: float = 0.3,
    token_dropout: float = 0.0,
    mixed_precision: bool = False,
    sentence_level: bool = True,
    output: str = "crf",
    doc_context: bool = True,
    context_depth: int = 0,
    nO: Optional[int] = None,
) -> Model[List[Doc], List[Floats2d]]:
    """``RNNTagger.v2`` with document context: ``doc_context`` appends to each token's
    RNN state the mean state of the other mentions of the same (capitalised, inflection-
    blind) word in its document and their count (:mod:`layers.doc_context`), before the
    output layer; train it on documents or multi-sentence pieces (the corpus reader's
    ``max_length``), not single sentences. ``context_depth``: RNN layers (of
    ``hidden_width``) that read the states with their context before the output (0: the
    output reads them directly). The output is a CRF by default."""
    return _rnn_tagger("spacy_rnn_ner.RNNTagger.v3", **locals(), legacy_layout=False)


@registry.architectures("spacy_rnn_ner.RNNTagger.v1")
def build_rnn_tagger_v1(
    tok2vec: Model[List[Doc], List[Floats2d]],
    rnn_type: str = "lstm",
    hidden_width: int = 128,
    depth: int = 1,
    bidirectional: bool = True,
    dropout: float = 0.3,
    mixed_precision: bool = False,
    sentence_level: bool = True,
    token_dropout: float = 0.0,
    nO: Optional[int] = None,
) -> Model[List[Doc], List[Floats2d]]:
    """The model of ``RNNTagger.v2`` with the layer layout that v1 pipelines were saved
    with, so they load and predict as before. Use v2 for new pipelines."""
    return _rnn_tagger("spacy_rnn_ner.RNNTagger.v1", **locals(), output="softmax", doc_context=False,
                       context_depth=0, legacy_layout=True)


def _rnn_tagger(
    arch: str,
    tok2vec: Model[List[Doc], List[Floats2d]],
    rnn_type: str,
    hidden_width: int,
    depth: int,
    bidirectional: bool,
    dropout: float,
    token_dropout: float,
    mixed_precision: bool,
    sentence_level: bool,
    output: str,
    doc_context: bool,
    context_depth: int,
    nO: Optional[int],
    legacy_layout: bool,
) -> Model[List[Doc], List[Floats2d]]:
    key = str(rnn_type).lower()
    if key not in RNN_TYPES:
        raise config_error(
            arch, "rnn_type", f"{arch}: unknown rnn_type {rnn_type!r}; valid choices: "
            + ", ".join(repr(k) for k in RNN_TYPES)
        )
    _check_positive(arch, hidden_width=hidden_width, depth=depth)
    _check_rate(arch, "dropout", dropout)
    _check_rate(arch, "token_dropout", token_dropout)
    if output not in OUTPUTS:
        raise config_error(arch, "output", f"{arch}: unknown output {output!r}; valid choices: " + ", ".join(repr(o) for o in OUTPUTS))
    if nO is not None:
        _check_positive(arch, nO=nO)
    nI = tok2vec.maybe_get_dim("nO")
    rnn = packed_rnn_layer(
        key, nI, hidden_width, depth, bidirectional, dropout, mixed_precision and _on_cuda(),
        token_dropout,
    )
    crf = crf_layer(nO) if output == "crf" else None
    context = doc_context_layer(rnn.get_dim("nO")) if doc_context else None
    context_rnn = None
    if context_depth:
        _check_positive(arch, context_depth=context_depth)
        context_rnn = packed_rnn_layer(
            key, (context or rnn).get_dim("nO"), hidden_width, context_depth, bidirectional, dropout,
            mixed_precision and _on_cuda(), 0.0,
        )
    output_layer = make_output_layer(output, nO, (context_rnn or context or rnn).get_dim("nO"))
    return rnn_tagger_model(tok2vec, rnn, output_layer, sentence_level, legacy_layout, crf, context,
                            context_rnn)


@registry.architectures("spacy_rnn_ner.TokenFeatures.v1")
def build_token_features(
    width: int = 96,
    attrs: List[str] = DEFAULT_ATTRS,
    rows: List[int] = [5000, 1000, 2500, 2500],
    include_static_vectors: bool = False,
    char_encoder: Optional[Model[List[Doc], List[Floats2d]]] = None,
    extra_features: Optional[Model[List[Doc], List[Floats2d]]] = None,
) -> Model[List[Doc], List[Floats2d]]:
    """Token vectors: spaCy's ``MultiHashEmbed`` of token attributes (with static
    vectors when ``include_static_vectors``), concatenated with a character encoder and
    any extra per-token features (e.g. a lexicon lookup; several can be combined with
    thinc's ``concatenate.v1``). Features of the word alone (attributes of its lexeme
    and its norm, the vectors, the characters, word lists) are computed once per
    distinct word of a batch; attributes set on tokens (``LEMMA``, ``TAG``, ``POS``,
    ``ENT_TYPE``...) are read per token.
    """
    arch = "spacy_rnn_ner.TokenFeatures.v1"
    _check_positive(arch, width=width, **{f"rows[{i}]": r for i, r in enumerate(rows)})
    if len(attrs) != len(rows):
        raise config_error(arch, "rows", f"{arch}: 'attrs' ({len(attrs)}) and 'rows' ({len(rows)}) differ in length.")
    unknown = [attr for attr in attrs if intify_attr(attr) is None]
    if unknown:
        raise config_error(arch, "attrs", f"{arch}: unknown token attribute(s) {', '.join(map(repr, unknown))} "
                           "in 'attrs' (spaCy's, e.g. NORM, PREFIX, SUFFIX, SHAPE)")
    embed = dedupe_static_vectors(MultiHashEmbed(width, attrs, rows, include_static_vectors))
    embed.set_dim("nO", width)
    # lexical attributes and vectors of the word: computed once per distinct word of a
    # batch; attributes that depend on the token (LEMMA, TAG, ENT_TYPE...) are read per token
    embed.attrs["context_free"] = all(intify_attr(attr) in WORD_ATTRS for attr in attrs)
    parts = [embed] + [p for p in (char_encoder, extra_features) if p is not None]
    for part in parts[1:]:
        # a combination of context-free layers (thinc's concatenate.v1 of word lists...)
        if part.layers and all(layer.attrs.get("context_free") for layer in part.layers):
            part.attrs["context_free"] = True
        if part.maybe_get_dim("nO") is None and _is_concatenate(part) \
                and all(layer.maybe_get_dim("nO") for layer in part.layers):
            part.set_dim("nO", sum(layer.get_dim("nO") for layer in part.layers))
    if len(parts) == 1:
        return embed
    widths = [part.maybe_get_dim("nO") for part in parts]
    # thinc's ``concatenate``, with the context-free layers run once per distinct word
    # of a batch, and an init that does not ask Docs for a width
    return Model(
        "token_features",
        token_features_forward,
        init=_init_token_features,
        dims={"nO": sum(widths) if None not in widths else None},  # else known at initialize
        layers=parts,
    )


def _is_concatenate(model: Model) -> bool:
    """Whether ``model`` is thinc's ``concatenate`` of its layers (named ``a|b|...``)."""
    return len(model.layers) > 1 and model.name == "|".join(layer.name for layer in model.layers)


def _init_token_features(model: Model, X: Optional[List[Doc]] = None, Y: Any = None) -> None:
    for layer in model.layers:
        layer.initialize(X=X)
    widths = [layer.maybe_get_dim("nO") for layer in model.layers]
    if None in widths:
        unknown = [layer.name for layer, width in zip(model.layers, widths) if width is None]
        raise config_error("spacy_rnn_ner.TokenFeatures.v1", "nO",
                           f"spacy_rnn_ner.TokenFeatures.v1: the width (nO) of the feature layers {unknown} "
                           "is unknown after initialize; give it in the config.")
    model.set_dim("nO", sum(widths), force=True)


@registry.architectures("spacy_rnn_ner.CharCNN.v1")
def build_char_cnn(
    width: int = 64,
    embed_width: int = 32,
    window: int = 1,
    max_chars: int = 20,
    n_rows: int = 4096,
    dropout: float = 0.25,
) -> Model[List[Doc], List[Floats2d]]:
    """Character CNN: ``embed_width``-wide character embeddings (Unicode code point
    modulo ``n_rows``), a convolution over ``2*window+1`` characters with ``width``
    filters, max-pooled over the first ``max_chars`` characters of each token.
    """
    arch = "spacy_rnn_ner.CharCNN.v1"
    _check_positive(arch, width=width, embed_width=embed_width, window=window,
                    max_chars=max_chars)
    if n_rows < 2:
        raise config_error(arch, "n_rows", f"{arch}: 'n_rows' must be at least 2 (row 0 is padding), got {n_rows!r}.")
    _check_rate(arch, "dropout", dropout)
    return char_cnn_layer(width, n_rows, embed_width, window, max_chars, dropout)


@registry.architectures("spacy_rnn_ner.LexiconFeatures.v1")
def build_lexicon_features(
    gazetteers: Dict[str, List[str]],
    directory: str = ".",
    grammemes: List[str] = [],
    morphology: str = "none",
    lang: str = "uk",
) -> Model[List[Doc], List[Floats2d]]:
    """0/1 features per token, one per gazetteer and one per grammeme: a token fires
    a gazetteer when its lowercased form or (with ``morphology = "pymorphy3"``) one of
    its lemmas is listed in one of the gazetteer's files (paths relative to
    ``directory``; first field of each line, ``#`` comments skipped). Files are read
    at ``initialize`` and saved with the model. Use it as ``extra_features`` of
    ``spacy_rnn_ner.TokenFeatures.v1``.
    """
    return lexicon_features_layer(gazetteers, directory, grammemes, morphology, lang)


@registry.architectures("spacy_rnn_ner.Tok2VecListener.v1")
def build_tok2vec_listener(width: Optional[int] = None, upstream: str = "*") -> Model[List[Doc], List[Floats2d]]:
    """spaCy's ``Tok2VecListener`` onto a shared ``tok2vec`` component, with the width
    optional: left null, ``rnn_ner`` takes it from the upstream component at
    ``initialize`` (spaCy's ``spacy.Tok2VecListener.v1`` requires it in the config)."""
    from spacy.pipeline.tok2vec import Tok2VecListener

    return Tok2VecListener(upstream_name=upstream, width=width)


@registry.architectures("spacy_rnn_ner.CharLMFeatures.v1")
def build_char_lm_features(
    forward_path: str,
    backward_path: str,
    width: int = 128,
    projection: bool = True,
    fine_tune: bool = False,
    dropout: float = 0.0,
    sentence_level: bool = True,
    batch_chars: int = 16384,
    window: int = 1024,
    cache_tokens: int = 300000,
) -> Model[List[Doc], List[Floats2d]]:
    """Contextual token features from a forward and a backward character language model
    (trained with ``python -m spacy_rnn_ner train-char-lm``), read at word boundaries as
    Flair does. The LMs are loaded from the paths at ``initialize`` and saved with the
    model. ``projection``: a trainable linear map of the two LMs' states to ``width``
    (without it ``width`` must equal the sum of the LMs' hidden widths). ``fine_tune``:
    let gradients update the LMs (frozen by default). ``dropout`` on the LM states in
    training. ``sentence_level``: read each sentence separately when the doc has sentence
    starts. ``batch_chars``/``window``: characters per batch / per LSTM call (memory).
    ``cache_tokens``: with frozen LMs, keep the LM states (float16) of the most recently
    seen sentences, up to this many tokens (0 = no cache), so training epochs and dev
    evaluations do not rerun the LMs; the states are rounded to float16 either way.
    Use it as ``extra_features`` of ``spacy_rnn_ner.TokenFeatures.v1``.
    """
    from .layers.char_lm_features import char_lm_features_layer

    arch = "spacy_rnn_ner.CharLMFeatures.v1"
    _check_positive(arch, width=width, batch_chars=batch_chars, window=window)
    _check_rate(arch, "dropout", dropout)
    if not isinstance(cache_tokens, int) or cache_tokens < 0:
        raise config_error(arch, "cache_tokens", f"{arch}: 'cache_tokens' must be a non-negative integer, got {cache_tokens!r}.")
    return char_lm_features_layer(forward_path, backward_path, width, projection, fine_tune,
                                  dropout, sentence_level, batch_chars, window, cache_tokens)
