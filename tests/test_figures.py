"""The figures README.md and docs/benchmarks.md quote equal their docs/bench JSONs, and those JSONs measured the
code as it is now unless the doc quotes them as history (tools/figures.py --check, facemask/evaluation/figures.py)."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest
from conftest import REPO

from facemask.evaluation import figures
from facemask.evaluation.figures import Figure
from facemask.evaluation.provenance import code_provenance, code_tree

TOOL = runpy.run_path(str(REPO / "tools" / "figures.py"))  # its table and CLI, without putting tools/ on sys.path


def test_every_quoted_figure_equals_its_json_and_that_json_measured_the_code_as_it_is(capsys):
    """Fails when a doc and its JSON disagree, or when code changed after a JSON a current figure quotes was
    measured: each error line says which JSON and the command that measures it again."""
    assert TOOL["main"](["--check"]) == 0, capsys.readouterr().err
    assert "all match" in capsys.readouterr().out


def test_benchmarks_md_and_the_readme_install_and_test_figures_are_in_the_table():
    docs = [f.doc for f in TOOL["FIGURES"]]
    assert docs.count("docs/benchmarks.md") >= 5
    sources = {f.source for f in TOOL["FIGURES"]}
    assert {"install.json", "install_history.json", "test_run.json"} <= sources


def _current(paths: tuple[str, ...] = ("facemask",)) -> dict:
    """Provenance fields of a JSON that measured `paths` as committed now."""
    tree = code_tree(list(paths))
    if tree is None:
        pytest.skip("not a git checkout (an unpacked release): no code tree to compare with")
    return {"commit": "0" * 40, "code_paths": list(paths), "code_tree": tree, "code_dirty": False}


def _copy(tmp_path: Path, doc: str, bench: dict[str, dict]) -> Path:
    (tmp_path / "docs" / "bench").mkdir(parents=True)
    (tmp_path / "README.md").write_text(doc)
    for name, content in bench.items():
        (tmp_path / "docs" / "bench" / name).write_text(json.dumps(content))
    return tmp_path


RANGE = Figure("README.md", "streams run at {} fps each", "m.json", ("runs/*/fps",), ("{:.1f}-{:.1f}",))
SHARE = Figure("README.md", "| `lite` | {} % |", "c.json", ("results/[model=lite]/accuracy*100",), ("{:.2f}",))
LITE = {"results": [{"model": "default", "accuracy": 0.9}, {"model": "lite", "accuracy": 0.9951}]}
STALE = {"commit": "1" * 40, "code_paths": ["facemask"], "code_tree": "0" * 16, "code_dirty": False}


def test_a_figure_that_differs_from_its_json_fails_and_says_both(tmp_path, capsys):
    runs = {"runs": {"a": {"fps": 9.52}, "b": {"fps": 11.8}}, **_current()}
    root = _copy(tmp_path, "four streams run at\n16.0-17.3 fps each.", {"m.json": runs})
    assert figures.check(root, (RANGE,)) == 1
    err = capsys.readouterr().err
    assert "'streams run at 16.0-17.3 fps each'" in err and "'streams run at 9.5-11.8 fps each'" in err
    assert "older than" not in err and len(err.splitlines()) == 1


def test_a_figure_equal_to_a_json_of_the_code_as_it_is_passes(tmp_path, capsys):
    root = _copy(tmp_path, "| `lite` | 99.51 % |", {"c.json": {**LITE, **_current()}})
    assert figures.check(root, (SHARE,)) == 0
    assert "all match" in capsys.readouterr().out


def test_a_reworded_quote_fails(tmp_path, capsys):
    root = _copy(tmp_path, "| `lite` model | 99.51 % |", {"c.json": {**LITE, **_current()}})
    assert figures.check(root, (SHARE,)) == 1
    assert "no longer quotes" in capsys.readouterr().err


def test_a_json_older_than_its_code_fails_and_says_how_to_measure_it_again(tmp_path, capsys):
    root = _copy(tmp_path, "| `lite` | 99.51 % |", {"c.json": {**LITE, **STALE}})
    assert figures.check(root, (SHARE,), {"c.json": "python tools/score_classifier.py --json c.json"}) == 1
    err = capsys.readouterr().err
    assert "error: c.json: older than its code (facemask last changed in" in err
    assert "measure it again: python tools/score_classifier.py --json c.json" in err


def test_a_json_that_records_no_code_fails(tmp_path, capsys):
    root = _copy(tmp_path, "| `lite` | 99.51 % |", {"c.json": {**LITE, "command": "by hand: count them"}})
    assert figures.check(root, (SHARE,)) == 1
    assert "c.json: stale/unknown" in capsys.readouterr().err and "measure it again: by hand: count them"


def test_a_history_figure_passes_while_its_json_is_stale_and_says_so(tmp_path, capsys):
    root = _copy(tmp_path, "| `lite` | 99.51 % |", {"c.json": {**LITE, **STALE}})
    history = Figure(SHARE.doc, SHARE.text, SHARE.source, SHARE.keys, SHARE.forms, history=True)
    assert figures.check(root, (history,)) == 0
    out = capsys.readouterr().out
    assert "note: c.json: older than its code" in out and "(quoted as history)" in out and "all match" in out
    assert figures.check(root, (history, SHARE)) == 1  # one current figure holds its JSON to the code


def test_a_json_is_stale_once_the_code_it_measured_changes(tmp_path):
    doc = {**LITE, **code_provenance()}
    if doc["commit"] is None:
        pytest.skip("not a git checkout (an unpacked release): no commit to record")
    root = _copy(tmp_path, "| `lite` | 99.51 % |", {"c.json": doc})
    assert doc["code_tree"] and doc["code_paths"] == ["facemask"]
    if not doc["code_dirty"]:  # measured on committed code: current
        assert figures.staleness("c.json", root) is None
    (root / "docs" / "bench" / "c.json").write_text(json.dumps({**doc, "code_tree": "0" * 16, "code_dirty": False}))
    assert "older than its code" in figures.staleness("c.json", root)


def test_a_json_of_code_paths_head_no_longer_holds_is_stale(tmp_path):
    _current()  # a git checkout
    moved = {**STALE, "code_paths": ["facemask", "tools/no_such_tool.py"]}
    root = _copy(tmp_path, "| `lite` | 99.51 % |", {"c.json": {**LITE, **moved}})
    assert "which HEAD does not all hold (moved or removed?)" in figures.staleness("c.json", root)


def test_without_git_staleness_cannot_be_told_and_fails_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(figures, "code_tree", lambda paths: None)
    monkeypatch.setattr(figures, "head_commit", lambda: None)
    root = _copy(tmp_path, "| `lite` | 99.51 % |", {"c.json": {**LITE, **STALE}})
    assert figures.staleness("c.json", root) is None and figures.check(root, (SHARE,)) == 0


def test_stamp_records_the_code_a_json_measured_by_hand(tmp_path, capsys):
    path = tmp_path / "by_hand.json"
    path.write_text(json.dumps({"passed": 3, "code_paths": ["pyproject.toml"]}))
    want = _current(("pyproject.toml",))
    if code_provenance(None, ["pyproject.toml"])["code_dirty"]:
        pytest.skip("pyproject.toml has uncommitted changes here")
    assert TOOL["main"](["--stamp", str(path)]) == 0
    doc = json.loads(path.read_text())
    assert doc["passed"] == 3 and doc["code_tree"] == want["code_tree"] and doc["code_dirty"] is False
    assert len(doc["commit"]) == 40


def test_stamp_refuses_a_json_without_code_paths(tmp_path, capsys):
    path = tmp_path / "by_hand.json"
    path.write_text(json.dumps({"passed": 3}))
    assert TOOL["main"](["--stamp", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {path}: cannot read its code_paths")
    assert json.loads(path.read_text()) == {"passed": 3}


def test_every_quoted_json_can_be_measured_again():
    """A JSON a tool writes has its command in COMMANDS (and the tool records what it measured); one measured by
    hand says how in its `command` and which code it depends on in `code_paths`."""
    commands = TOOL["COMMANDS"]
    for source in {f.source for f in TOOL["FIGURES"] if not f.history}:
        if source in commands:
            tool = REPO / commands[source].split()[1]
            assert tool.is_file() and "code_provenance(__file__)" in tool.read_text(), tool
        else:
            doc = json.loads((REPO / "docs" / "bench" / source).read_text())
            assert doc["measured"].startswith("by hand") and doc["command"] and doc["code_paths"], source
