"""Exports: charts as real PNG/SVG files, tables as CSV, and a run report that opens offline."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

from rnnviz import charts
from rnnviz.config import TrainConfig
from rnnviz.data import split_dataset
from rnnviz.evaluate import report
from rnnviz.export import ExportError, chart_bytes, file_stem, run_folder_report, table_csv
from rnnviz.runs import load_run, train_run


@pytest.fixture(scope="module")
def curve():
    metrics = pd.DataFrame({"step": [1, 2, 3], "epoch": [0.3, 0.6, 1.0], "train_loss": [1.0, 0.8, 0.5],
                            "val_loss": [1.1, 0.9, 0.7], "train_acc": [0.3, 0.5, 0.7], "val_acc": [0.3, 0.4, 0.6]})
    return charts.curve_chart(charts.curves_long(metrics), "loss")


def test_png_export_is_a_png_image(curve):
    assert chart_bytes(curve, "png").startswith(b"\x89PNG\r\n\x1a\n")


def test_svg_export_is_an_svg_with_the_charts_title(curve):
    svg = chart_bytes(curve, "svg").decode("utf-8")
    assert "<svg" in svg and ">loss<" in svg


def test_a_chart_that_fills_its_container_is_drawn_at_the_width_asked_for(curve):
    narrow, wide = chart_bytes(curve, "svg", width=333).decode(), chart_bytes(curve, "svg", width=700).decode()
    assert narrow != wide
    assert float(narrow.split('width="', 1)[1].split('"', 1)[0]) < float(wide.split('width="', 1)[1].split('"', 1)[0])


def test_unknown_format_is_refused(curve):
    with pytest.raises(ExportError, match="choose one of png, svg"):
        chart_bytes(curve, "gif")


def test_table_csv_round_trips_with_accents():
    frame = pd.DataFrame({"category": ["Français", "Czech"], "f1": [0.5, 0.25]})
    data = table_csv(frame)
    assert pd.read_csv(io.BytesIO(data), encoding="utf-8-sig").equals(frame)


def test_file_stem_keeps_only_safe_characters():
    assert file_stem("run/../x", "loss curve") == "run-..-x-loss-curve"
    assert "/" not in file_stem("../../etc/passwd")


def test_run_report_is_self_contained_and_holds_config_curves_confusion_and_table(tiny_dataset, isolated_runs):
    config = TrainConfig(model="rnn", epochs=1, batch_size=8, eval_every=2, device="cpu")
    writer, _ = train_run(config, tiny_dataset, isolated_runs)
    run = load_run(writer.path)
    split = split_dataset(tiny_dataset, config.val_fraction, config.test_fraction, config.seed)
    page = run_folder_report(writer.path, report(run.model, run.categories, split.test), split="test")
    assert page.startswith("<!DOCTYPE html>")
    # Offline: nothing is fetched, no script or stylesheet comes from a network address.
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=\s*['\"]?(https?:)?//", page, re.I)
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", page, re.I)
    assert page.count("<svg") == 3  # loss, accuracy, confusion matrix
    assert "learning_rate" in page and "Per category" in page
    for category in tiny_dataset.categories:
        assert category in page


def test_report_of_a_folder_without_config_is_refused_in_one_line(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    with pytest.raises(ExportError, match=r"no readable config \(config.json is missing\)"):
        run_folder_report(folder)


HOSTILE = ["<script>alert(1)<", "<img src=x onerror=alert(2)>", "Tom & \"Jerry\""]


def test_report_escapes_run_and_category_names_from_uploaded_data(tmp_path, isolated_runs):
    from html.parser import HTMLParser

    from rnnviz.data import load_folder

    folder = tmp_path / "hostile"
    folder.mkdir()
    for k, category in enumerate(HOSTILE):  # '/' cannot be in a file name; everything else can
        (folder / f"{category}.txt").write_text("\n".join(f"Name{k}{c}" for c in "abcdefgh") + "\n", encoding="utf-8")
    dataset = load_folder(folder)
    assert sorted(dataset.categories) == sorted(HOSTILE)
    config = TrainConfig(model="rnn", epochs=1, batch_size=8, device="cpu")
    writer, _ = train_run(config, dataset, isolated_runs)
    run = load_run(writer.path)
    split = split_dataset(dataset, config.val_fraction, config.test_fraction, config.seed)
    page = run_folder_report(writer.path, report(run.model, run.categories, split.test),
                             title="<b>my run</b> & co")

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.handlers = set(), []

        def handle_starttag(self, tag, attrs):
            self.tags.add(tag)
            self.handlers += [name for name, _ in attrs if name.startswith("on")]

    parser = Tags()
    parser.feed(page)
    assert "script" not in parser.tags and "img" not in parser.tags and "b" not in parser.tags
    assert parser.handlers == []
    assert "&lt;script&gt;alert(1)&lt;" in page and "&lt;b&gt;my run&lt;/b&gt; &amp; co" in page
    assert "Tom &amp; &quot;Jerry&quot;" in page
    # Defence in depth: the file itself forbids scripts and fetching anything.
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_each_inline_svg_gets_its_own_ids(tiny_dataset, isolated_runs):
    config = TrainConfig(model="rnn", epochs=1, batch_size=8, eval_every=2, device="cpu")
    writer, _ = train_run(config, tiny_dataset, isolated_runs)
    run = load_run(writer.path)
    split = split_dataset(tiny_dataset, config.val_fraction, config.test_fraction, config.seed)
    page = run_folder_report(writer.path, report(run.model, run.categories, split.val), split="val")
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert ids and len(ids) == len(set(ids))
    for target in re.findall(r"url\(#([^)]+)\)", page):
        assert target in ids
