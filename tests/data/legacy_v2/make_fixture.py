"""Made at commit 9c1ea55 (before the torch CRF, issue 14): a tiny trained RNNTagger.v2 pipeline with output="crf" and its
predictions; tests check that later code loads it and predicts the same. Run from the repo root:
`python tests/data/legacy_v2/make_fixture.py tests/data/legacy_v2`."""
import json, sys
sys.path.insert(0, "tests")
from pathlib import Path
import spacy
from conftest import TRAIN_DATA, make_examples, seed_everything

out = Path(sys.argv[1])
seed_everything(0)
nlp = spacy.blank("uk")
nlp.add_pipe("sentencizer")
model = {
    "@architectures": "spacy_rnn_ner.RNNTagger.v2", "output": "crf", "rnn_type": "lstm", "hidden_width": 16, "depth": 2,
    "dropout": 0.2, "token_dropout": 0.1, "sentence_level": True,
    "tok2vec": {"@architectures": "spacy_rnn_ner.TokenFeatures.v1", "width": 16,
                "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"], "rows": [200, 50, 50, 20],
                "include_static_vectors": False,
                "char_encoder": {"@architectures": "spacy_rnn_ner.CharCNN.v1", "width": 8, "embed_width": 8,
                                 "window": 1, "max_chars": 12, "n_rows": 256, "dropout": 0.1},
                "extra_features": {"@architectures": "spacy_rnn_ner.LexiconFeatures.v1",
                                   "directory": "tests/data/lexicon",
                                   "gazetteers": {"GEO": ["geo.txt"], "NAME": ["names.txt"], "ABBR": ["abbr.txt"]},
                                   "grammemes": ["Name", "Surn"], "morphology": "pymorphy3", "lang": "uk"}},
}
nlp.add_pipe("rnn_ner", config={"model": model})
examples = make_examples(nlp, TRAIN_DATA)
opt = nlp.initialize(lambda: examples)
opt.learn_rate = 0.01
for i in range(45):
    nlp.update(examples, sgd=opt, drop=0.1)
nlp.to_disk(out / "model")
texts = [t for t, _ in TRAIN_DATA] + [
    "Тарас Шевченко народився в Моринцях . Київ є столицею України . Верховна Рада ухвалила закон .",
    "Олена Пчілка працювала у Львові , а Сергій Параджанов зняв фільм .",
    "  Вчора   у Києві\n\nпройшов концерт Академії наук .", "", "   ", "Україна", "Петро Порошенко",
]
preds = [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in nlp.pipe(texts)]
ner = nlp.get_pipe("rnn_ner")
scores = [ner.model.predict([d])[0].round(6).tolist() for d in nlp.pipe(texts, disable=["rnn_ner"])]
# tag probabilities (CRF marginals) of the decoded tags, per token
probs = [ner.predict([d])[0].tag_probs.round(6).tolist() for d in nlp.pipe(texts, disable=["rnn_ner"])]
(out / "expected.json").write_text(json.dumps({"texts": texts, "ents": preds, "scores": scores, "probs": probs}, ensure_ascii=False, indent=1))
print(preds)
