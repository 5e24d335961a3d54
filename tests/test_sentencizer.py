"""``abbrev_sentencizer``: spaCy's sentencizer rule, minus the cuts after initials,
abbreviations and before lowercase words, plus line breaks."""
import pytest
import spacy
from spacy.pipeline import Sentencizer

from spacy_rnn_ner.sentencizer import sentence_starts


def sentences(text: str, **config) -> list:
    nlp = spacy.blank("uk")
    nlp.add_pipe("abbrev_sentencizer", config=config)
    return [sent.text for sent in nlp(text).sents]


def spacy_sentences(text: str) -> list:
    nlp = spacy.blank("uk")
    nlp.add_pipe("sentencizer")
    return [sent.text for sent in nlp(text).sents]


@pytest.mark.parametrize("text", [
    "Про це сказав Т . Шевченко . Він пішов .",           # an initial
    "Інститут ім . Глієра стоїть у м . Київ . Далі .",   # abbreviations before names
    "Угода на 162 тис . грн . Потім 5,93 млн . євро .",  # a lowercase word goes on
])
def test_no_cut_inside_names_and_amounts(text):
    assert len(spacy_sentences(text)) > len(sentences(text))  # spaCy's rule cuts them
    got = sentences(text)
    for piece in ("Т . Шевченко", "ім . Глієра", "м . Київ", "162 тис . грн", "5,93 млн . євро"):
        if piece in text:
            assert any(piece in sent for sent in got), (piece, got)


def test_same_as_spacy_sentencizer_elsewhere():
    text = "Він пішов додому . Вона лишилася ! Чому ? Бо так . 2019 року все змінилося ."
    assert sentences(text) == spacy_sentences(text)


def test_sentence_end_after_abbreviation_kept_when_text_goes_on_capitalised():
    # 'грн .' and 'р .' often end a sentence: they are not in the list
    assert sentences("Коштувало 5 грн . Потім більше .") == ["Коштувало 5 грн .", "Потім більше ."]
    assert sentences("Це було у 2019 р . Далі .") == ["Це було у 2019 р .", "Далі ."]


def test_line_break_starts_a_sentence_unless_switched_off():
    text = "Заголовок без крапки\nПерше речення тексту ."
    assert sentences(text) == ["Заголовок без крапки\n", "Перше речення тексту ."]
    assert len(sentences(text, newline_starts=False)) == 1


def test_opening_quote_and_dash_go_with_the_next_sentence():
    assert sentences("Текст тут . « Так » . — Ні .") == ["Текст тут .", "« Так » .", "— Ні ."]
    # a closing quote after the period stays with its sentence
    assert sentences("Він сказав : « Так . » Потім пішов .") == ["Він сказав : « Так . »", "Потім пішов ."]


def test_abbreviations_are_a_setting():
    text = "Живе у м . Київ ."
    assert len(sentences(text)) == 1
    assert len(sentences(text, abbreviations=[])) == 2


def test_pure_function_edges():
    assert sentence_starts([]) == []
    assert sentence_starts(["."]) == [True]
    assert sentence_starts(["А", ".", "Б", "."]) == [True, False, False, False]
    assert sentence_starts(["ок", ".", "Б", "."]) == [True, False, True, False]
    assert sentence_starts(["ок", ".", "б"], punct_chars=Sentencizer.default_punct_chars) == [True, False, False]


def test_existing_sentence_starts_are_kept_unless_overwrite():
    nlp = spacy.blank("uk")
    doc = nlp.make_doc("Один . Два .")
    for token in doc:
        token.is_sent_start = token.i == 0
    nlp.add_pipe("abbrev_sentencizer")
    assert len(list(nlp.get_pipe("abbrev_sentencizer")(doc).sents)) == 1
    nlp2 = spacy.blank("uk")
    nlp2.add_pipe("abbrev_sentencizer", config={"overwrite": True})
    assert len(list(nlp2.get_pipe("abbrev_sentencizer")(doc).sents)) == 2


def test_round_trip_and_score(tmp_path):
    nlp = spacy.blank("uk")
    nlp.add_pipe("abbrev_sentencizer", config={"abbreviations": ["вул"]})
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    assert loaded.get_pipe("abbrev_sentencizer").abbreviations == ["вул"]
    from spacy.training import Example
    ref = nlp.make_doc("Один . Два .")
    for token in ref:
        token.is_sent_start = token.i in (0, 2)
    scores = loaded.evaluate([Example(loaded.make_doc(ref.text), ref)])
    assert scores["sents_f"] == 1.0


def test_period_inside_a_short_quoted_name_is_no_sentence_end():
    assert len(sentences("Шоу « Голос . Діти » почалося .")) == 1
    # a long quotation still has its sentences
    long = "Він сказав : « Я прийшов . Потім я довго сидів там і думав про все , що сталося того дня » ."
    assert len(sentences(long)) == 2


def test_long_doc_in_linear_time():
    """Sentence starts are set in one array: the per-token setter re-checks the doc's
    annotation each time, which took 9 s for 20,000 tokens (and minutes for 50,000)."""
    import time

    nlp = spacy.blank("uk")
    nlp.add_pipe("abbrev_sentencizer")
    doc = nlp.make_doc("Слово і ще слово . " * 10_000)  # 50,000 tokens, 10,000 sentences
    start = time.perf_counter()
    doc = nlp(doc)
    assert time.perf_counter() - start < 5.0
    assert len(list(doc.sents)) == 10_000
    assert [t.is_sent_start for t in doc[:6]] == [True, False, False, False, False, True]


def test_parsed_doc_is_refused_with_overwrite():
    """A doc with dependency arcs keeps its sentences; overwriting them is refused, as
    spaCy's Token.is_sent_start setter refuses it (E043)."""
    from spacy.tokens import Doc

    nlp = spacy.blank("uk")
    nlp.add_pipe("abbrev_sentencizer", config={"overwrite": True})
    doc = Doc(nlp.vocab, words=["Один", ".", "Два", "."], heads=[0, 0, 2, 2], deps=["ROOT", "punct", "ROOT", "punct"])
    with pytest.raises(ValueError, match="E043"):
        nlp(doc)


@pytest.mark.parametrize("setting,value,message", [
    ("punct_chars", [], "abbrev_sentencizer: punct_chars is an empty list: no sentence would ever end "
                        "at punctuation; give null for spaCy's sentence-final characters"),  # t07
    ("punct_chars", [""], "abbrev_sentencizer: punct_chars holds an empty string, which no token is; "
                          "give the sentence-final characters"),  # t08
    ("abbreviations", ["м", ""], "abbrev_sentencizer: abbreviations holds an empty entry (or one of "
                                 "periods only); give words such as 'м' or 'вул.'"),
    ("abbreviations", ["м", " м"], "abbrev_sentencizer: abbreviations entry ' м' holds whitespace, which "
                                   "no token does, so it would never match; give the word alone, such "
                                   "as 'м' or 'вул.'"),  # probe 5 t02
    ("abbreviations", ["вул. м"], "abbrev_sentencizer: abbreviations entry 'вул. м' holds whitespace, "
                                  "which no token does, so it would never match; give the word alone, "
                                  "such as 'м' or 'вул.'"),
], ids=["t07-empty-punct", "t08-empty-string", "empty-abbreviation", "t02-leading-space", "t02-inner-space"])
def test_settings_that_would_do_nothing_are_config_errors(setting, value, message):
    from confection import ConfigValidationError

    with pytest.raises(ConfigValidationError) as caught:
        spacy.blank("uk").add_pipe("abbrev_sentencizer", config={setting: value})
    assert caught.value.title == message


def test_an_abbreviation_written_with_its_period_is_kept():
    """probe 4 t09: 'м.' (as the module lists them) means the word 'м' before a period."""
    from spacy.tokens import Doc

    nlp = spacy.blank("uk")
    nlp.add_pipe("abbrev_sentencizer", config={"abbreviations": ["м."]})
    doc = nlp(Doc(nlp.vocab, words="Живу в м . Київ .".split()))
    assert [t.is_sent_start for t in doc] == [True, False, False, False, False, False]
