"""Tests for rnnviz.evaluate: top-k predictions, confusion matrices and per-category reports."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from rnnviz.config import TrainConfig
from rnnviz.data import CHAR_INDEX, DataError, EncodedSplit, encode, split_dataset
from rnnviz.evaluate import evaluate_encoded, per_category_compared, predict, read_names_file, report
from rnnviz.runs import train_run

CATEGORIES = ["Alpha", "Beta", "Gamma"]


class FirstLetterModel(nn.Module):
    """Predicts category 0 for names starting with a-h, 1 for i-p, 2 otherwise, with fixed confidence."""

    input_size = 57

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, chars, lengths):
        first = chars[:, 0] % 26
        label = torch.where(first < 8, 0, torch.where(first < 16, 1, 2))
        probs = torch.full((len(chars), 3), 0.1)
        probs[torch.arange(len(chars)), label] = 0.8
        return probs.log()


# true label of each name; the model's guess follows its first letter
PAIRS = [("abe", 0), ("bo", 0), ("ivo", 0), ("ian", 1), ("jo", 1), ("kai", 1), ("ray", 1), ("zed", 2), ("cy", 2)]
PREDICTED = [0, 0, 1, 1, 1, 1, 2, 2, 0]


def test_predict_returns_the_top_k_most_likely_first():
    (result,) = predict(FirstLetterModel(), CATEGORIES, ["Kai"], top_k=2)
    assert result.name == "Kai" and result.used == "Kai" and result.note == ""
    assert [c for c, _ in result.top] == ["Beta", "Alpha"]
    assert [p for _, p in result.top] == pytest.approx([0.8, 0.1])


def test_predict_clips_k_to_the_number_of_categories():
    (result,) = predict(FirstLetterModel(), CATEGORIES, ["Zed"], top_k=10)
    assert len(result.top) == 3 and sum(p for _, p in result.top) == pytest.approx(1.0)


def test_predict_uses_the_letters_it_can_and_says_what_it_dropped():
    first, second = predict(FirstLetterModel(), CATEGORIES, ["Ábel-2", "Zoë"], top_k=1)
    assert first.used == "Abel" and "'-2'" in first.note and first.top[0][0] == "Alpha"
    assert "Á → A" in first.note  # the caption says what was transliterated, as well as what was dropped
    assert second.used == "Zoe" and second.note == "accents transliterated as in training: ë → e"


@pytest.mark.parametrize("bad", ["", "1234"])
def test_predict_refuses_names_without_letters(bad):
    with pytest.raises(DataError):
        predict(FirstLetterModel(), CATEGORIES, ["Kai", bad])


def test_predict_agrees_with_a_trained_model(tiny_dataset, tmp_path):
    _, result = train_run(TrainConfig(hidden_size=16, batch_size=8, epochs=2), tiny_dataset, tmp_path)
    names = tiny_dataset.names[:5]
    with torch.no_grad():
        expected = result.model(*encode(names)).argmax(1).tolist()
    predictions = predict(result.model, tiny_dataset.categories, names, top_k=1)
    assert [tiny_dataset.categories.index(p.top[0][0]) for p in predictions] == expected


def test_report_counts_the_confusion_matrix_rows_true_columns_predicted():
    rep = report(FirstLetterModel(), CATEGORIES, PAIRS)
    expected = np.zeros((3, 3), dtype=int)
    for (_, true), guess in zip(PAIRS, PREDICTED):
        expected[true, guess] += 1
    assert rep.confusion.tolist() == expected.tolist() == [[2, 1, 0], [0, 3, 1], [1, 0, 1]]
    assert rep.predicted.tolist() == PREDICTED


def test_report_normalises_each_row_of_the_confusion_matrix():
    rep = report(FirstLetterModel(), CATEGORIES, PAIRS[:7])  # no Gamma names: an all-zero row
    normalized = rep.confusion_normalized
    assert normalized[0].tolist() == pytest.approx([2 / 3, 1 / 3, 0])
    assert normalized[1].tolist() == pytest.approx([0, 3 / 4, 1 / 4])
    assert normalized[2].tolist() == [0, 0, 0]


def test_report_accuracy_and_balanced_accuracy():
    rep = report(FirstLetterModel(), CATEGORIES, PAIRS)
    assert rep.accuracy == pytest.approx(6 / 9)
    assert rep.balanced_accuracy == pytest.approx((2 / 3 + 3 / 4 + 1 / 2) / 3)


def test_report_per_category_precision_recall_f1_support():
    frame = report(FirstLetterModel(), CATEGORIES, PAIRS).per_category.set_index("category")
    precision = {"Alpha": 2 / 3, "Beta": 3 / 4, "Gamma": 1 / 2}
    recall = {"Alpha": 2 / 3, "Beta": 3 / 4, "Gamma": 1 / 2}
    for category in CATEGORIES:
        p, r = precision[category], recall[category]
        assert frame.loc[category, "precision"] == pytest.approx(p)
        assert frame.loc[category, "recall"] == pytest.approx(r)
        assert frame.loc[category, "f1"] == pytest.approx(2 * p * r / (p + r))
    assert frame["support"].tolist() == [3, 4, 2]


def test_report_long_form_and_misclassified_names():
    rep = report(FirstLetterModel(), CATEGORIES, PAIRS)
    frame = rep.confusion_frame()
    assert len(frame) == 9 and set(frame.columns) == {"true", "predicted", "count", "rate"}
    row = frame[(frame["true"] == "Beta") & (frame["predicted"] == "Gamma")].iloc[0]
    assert row["count"] == 1 and row["rate"] == pytest.approx(0.25)
    assert rep.misclassified("Alpha", "Beta") == ["ivo"]
    assert rep.misclassified("Gamma", "Alpha") == ["cy"]


def test_per_category_compared_puts_each_runs_scores_side_by_side():
    first = report(FirstLetterModel(), CATEGORIES, PAIRS)
    second = report(FirstLetterModel(), CATEGORIES, PAIRS[:7])  # no Gamma names
    table = per_category_compared({"left": first, "right": second}).set_index("category")
    assert list(table.columns) == ["recall · left", "recall · right", "f1 · left", "f1 · right", "support · left",
                                   "support · right"]
    for name, rep in (("left", first), ("right", second)):  # the same numbers as each run's own table
        own = rep.per_category.set_index("category")
        for measure in ("recall", "f1", "support"):
            assert table[f"{measure} · {name}"].tolist() == pytest.approx(own[measure].tolist())
    assert table.loc["Gamma", "support · right"] == 0 and table.loc["Gamma", "support · left"] == 2


def test_report_json_has_the_documented_keys():
    values = report(FirstLetterModel(), CATEGORIES, PAIRS).to_json()
    assert {"accuracy", "balanced_accuracy", "categories", "confusion_matrix", "per_category"} <= set(values)
    assert values["confusion_matrix"] == [[2, 1, 0], [0, 3, 1], [1, 0, 1]]
    assert values["per_category"][1]["category"] == "Beta" and values["per_category"][1]["support"] == 4


def test_report_refuses_nothing_to_evaluate():
    with pytest.raises(DataError):
        report(FirstLetterModel(), CATEGORIES, [])


def test_report_on_a_split_agrees_with_the_trainers_validation(tiny_dataset, tmp_path):
    config = TrainConfig(hidden_size=16, batch_size=8, epochs=2)
    _, result = train_run(config, tiny_dataset, tmp_path)
    val = split_dataset(tiny_dataset).val
    rep = report(result.model, tiny_dataset.categories, val)
    from_trainer = evaluate_encoded(result.model, EncodedSplit(val), torch.device("cpu"))
    assert rep.accuracy == pytest.approx(result.val["accuracy"]) == pytest.approx(from_trainer["accuracy"])
    assert rep.balanced_accuracy == pytest.approx(result.val["balanced_accuracy"])


# --------------------------------------------------------------------------- names files


def test_names_file_skips_its_header_and_transliterates(tmp_path):
    file = tmp_path / "names.tsv"
    file.write_text("name\tcategory\nÁbel\tAlpha\n\nZed\tGamma\r\n", encoding="utf-8")
    assert read_names_file(file, CATEGORIES) == [("Abel", 0), ("Zed", 2)]


def test_report_on_a_names_file(tmp_path):
    file = tmp_path / "names.tsv"
    file.write_text("name\tcategory\n" + "".join(f"{n}\t{CATEGORIES[c]}\n" for n, c in PAIRS), encoding="utf-8")
    rep = report(FirstLetterModel(), CATEGORIES, read_names_file(file, CATEGORIES))
    assert rep.accuracy == pytest.approx(6 / 9) and len(rep.names) == 9


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("name\tcategory\nAbe\tDelta\n", "line 2: unknown category 'Delta'"),
        ("name\tcategory\nAbe\n", "line 2: expected name<TAB>category"),
        ("name\tcategory\nAbe\tAlpha\n1234\tBeta\n", "line 3: the name has no letters"),
        ("name\tcategory\n", "no names after its header"),
    ],
)
def test_names_file_errors_are_one_line_with_the_line_number(tmp_path, content, fragment):
    file = tmp_path / "names.tsv"
    file.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as excinfo:
        read_names_file(file, CATEGORIES)
    assert fragment in str(excinfo.value) and "\n" not in str(excinfo.value)


def test_names_file_missing_or_not_utf8(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_names_file(tmp_path / "none.tsv", CATEGORIES)
    file = tmp_path / "latin.tsv"
    file.write_bytes("name\tcategory\nLef\xe8vre\tAlpha\n".encode("latin-1"))
    with pytest.raises(DataError, match="UTF-8"):
        read_names_file(file, CATEGORIES)


def test_first_letter_model_is_what_the_tests_assume():
    chars = torch.tensor([[CHAR_INDEX[name[0]]] for name, _ in PAIRS])
    assert FirstLetterModel()(chars, torch.ones(len(PAIRS))).argmax(1).tolist() == PREDICTED
    assert math.isclose(FirstLetterModel()(chars, torch.ones(len(PAIRS))).exp().sum(1)[0].item(), 1.0)
