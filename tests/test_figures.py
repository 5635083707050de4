"""The figures README.md and docs/benchmarks.md quote equal their docs/bench JSONs (tools/figures.py --check)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))

import figures  # noqa: E402
from figures import Figure  # noqa: E402

from facemask.evaluation.provenance import code_provenance  # noqa: E402


def test_every_quoted_figure_equals_its_json(capsys):
    assert figures.main(["--check"]) == 0, capsys.readouterr().err
    assert "all match" in capsys.readouterr().out


def _copy(tmp_path: Path, doc: str, bench: dict[str, dict]) -> Path:
    (tmp_path / "docs" / "bench").mkdir(parents=True)
    (tmp_path / "README.md").write_text(doc)
    for name, content in bench.items():
        (tmp_path / "docs" / "bench" / name).write_text(json.dumps(content))
    return tmp_path


RANGE = Figure("README.md", "streams run at {} fps each", "m.json", ("runs/*/fps",), ("{:.1f}-{:.1f}",))
SHARE = Figure("README.md", "| `lite` | {} % |", "c.json", ("results/[model=lite]/accuracy*100",), ("{:.2f}",))


def test_a_figure_that_differs_from_its_json_fails_and_says_both(tmp_path, capsys):
    root = _copy(
        tmp_path,
        "four streams run at\n16.0-17.3 fps each.",
        {"m.json": {"runs": {"a": {"fps": 9.52}, "b": {"fps": 11.8}}}},
    )
    assert figures.check(root, (RANGE,)) == 1
    err = capsys.readouterr().err
    assert "'streams run at 16.0-17.3 fps each'" in err and "'streams run at 9.5-11.8 fps each'" in err


def test_a_figure_equal_to_its_json_passes_and_one_without_provenance_is_reported_not_failed(tmp_path, capsys):
    bench = {"c.json": {"results": [{"model": "default", "accuracy": 0.9}, {"model": "lite", "accuracy": 0.9951}]}}
    root = _copy(tmp_path, "| `lite` | 99.51 % |", bench)
    assert figures.check(root, (SHARE,)) == 0
    out = capsys.readouterr().out
    assert "c.json: stale/unknown" in out and "all match" in out


def test_a_reworded_quote_fails(tmp_path, capsys):
    root = _copy(
        tmp_path, "| `lite` model | 99.51 % |", {"c.json": {"results": [{"model": "lite", "accuracy": 0.9951}]}}
    )
    assert figures.check(root, (SHARE,)) == 1
    assert "no longer quotes" in capsys.readouterr().err


def test_a_json_is_stale_once_the_code_it_measured_changes(tmp_path):
    doc = {"results": [{"model": "lite", "accuracy": 0.9951}], **code_provenance()}
    if doc["commit"] is None:
        pytest.skip("not a git checkout (an unpacked release): no commit to record")
    root = _copy(tmp_path, "| `lite` | 99.51 % |", {"c.json": doc})
    assert doc["code_tree"] and doc["code_paths"] == ["facemask"]
    if not doc["code_dirty"]:  # measured on committed code: current
        assert figures.staleness("c.json", root) is None
    (root / "docs" / "bench" / "c.json").write_text(json.dumps({**doc, "code_tree": "0" * 16, "code_dirty": False}))
    assert "older than its code" in figures.staleness("c.json", root)


def test_every_quoted_json_can_be_measured_again():
    assert {f.source for f in figures.FIGURES} <= set(figures.COMMANDS)
    for command in figures.COMMANDS.values():
        tool = REPO / command.split()[1]
        assert tool.is_file() and "code_provenance(__file__)" in tool.read_text(), tool  # it records what it measured
