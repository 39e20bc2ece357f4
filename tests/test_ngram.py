"""The n-gram baseline's features: scikit-learn's CountVectorizer over the saved vocabulary gives every name of
the real data the features the hand-written char_wb counter gave before (kept below, frozen, as the reference)."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from rnnviz.ngram import NGRAM_RANGE, NGram, _code, _gram


def frozen_char_wb_ngrams(text: str, ngram_range: tuple[int, int] = NGRAM_RANGE) -> list[str]:
    """The n-grams of the former hand-written counter, as it was."""
    low, high = ngram_range
    grams = []
    for word in text.lower().split():
        padded = f" {word} "
        for n in range(low, high + 1):
            offset = 0
            grams.append(padded[:n])
            while offset + n < len(padded):
                offset += 1
                grams.append(padded[offset : offset + n])
            if offset == 0:  # a word shorter than n is counted once
                break
    return grams


def frozen_features(model: NGram, names: list[str]) -> sparse.csr_matrix:
    """The former NGram.features as an (N, F) matrix: counts of known n-grams, 1 + log, times idf, unit rows."""
    index = {code: k for k, code in enumerate(model.codes.tolist())}
    idf = model.idf.numpy()
    rows, cols, values = [], [], []
    for row, name in enumerate(names):
        counts: dict[int, int] = {}
        for gram in frozen_char_wb_ngrams(name):
            column = index.get(_code(gram))
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
        weights = {column: (1 + np.log(count)) * idf[column] for column, count in counts.items()}
        norm = max(np.sqrt(sum(w * w for w in weights.values())), 1e-12)
        rows.extend([row] * len(weights))
        cols.extend(weights)
        values.extend(w / norm for w in weights.values())
    return sparse.csr_matrix((values, (rows, cols)), shape=(len(names), model.n_features))


def model_on(names: list[str]) -> NGram:
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAM_RANGE, sublinear_tf=True).fit(names)
    model = NGram(output_size=2)
    size = len(vectorizer.vocabulary_)
    model.set_weights(vectorizer.vocabulary_, vectorizer.idf_, np.zeros((2, size)), np.zeros(2))
    return model


def test_every_name_of_the_real_data_gets_the_features_it_had_before(real_dataset):
    names = real_dataset.names
    model = model_on(names[::2])  # half the names fit the vocabulary, so the rest also meet unknown n-grams
    rows, cols, values = model.features(names)
    ours = sparse.csr_matrix((values.numpy(), (rows.numpy(), cols.numpy())), shape=(len(names), model.n_features))
    before = frozen_features(model, names)
    assert (ours != 0).sum() == (before != 0).sum() > 5 * len(names)  # the same entries, many to a name
    assert abs(ours - before).max() < 1e-6


def test_every_ngram_has_its_own_code_and_reads_back():
    names = ["Nakamura", "O'Neil", "De la Cruz", "Li", "Ng", "Abe", "St. John", "Smith;Jones", "a"]
    grams = {g for name in names for g in frozen_char_wb_ngrams(name)}
    assert len({_code(g) for g in grams}) == len(grams)
    assert all(_gram(_code(g)) == g for g in grams)
