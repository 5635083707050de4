"""The report against hostile runs (issue 40): it never runs or hides content, reads only its runs' own
files, and any numbers or strings give a drawn page or one `error:` line, never `unexpected X`."""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_report import fake_run

from facemask.cli import main
from facemask.report.page import render
from facemask.report.runs import load_runs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

HOSTILE_NAMES = [
    "x<!--<script>window.pwned=1</script>",  # `<!--<script` put the parser in double-escaped script data
    "y</script><script>window.pwned=2</script>",
    "z<script>",
]
RLO = "\u202e"


def three_sources(folder: Path, hostile: str) -> list[Path]:
    """Two good runs with a hostile one between them, each its own JSON Lines file in `folder`."""
    return [
        fake_run(folder, "a_good", source="good one"),
        fake_run(folder, "b_bad", frames=20, source=hostile),
        fake_run(folder, "c_good", frames=30, source="good two"),
    ]


def script_bodies(page: str) -> list[str]:
    return re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S)


@pytest.mark.parametrize("hostile", HOSTILE_NAMES)
def test_embedded_data_cannot_end_or_escape_its_script(tmp_path, hostile):
    """No `<` at all inside a script element's data: the HTML tokenizer cannot leave script data or enter
    its escaped states, so every section after it is still a section. The data reads back unchanged."""
    sources = load_runs(three_sources(tmp_path, hostile))
    page = render(sources)
    bodies = script_bodies(page)
    assert len(bodies) == 3 and all("<" not in body and ">" not in body for body in bodies)
    assert json.loads(bodies[1])["source"] == hostile
    assert page.count("<section id=source-") == 3 and page.count("</section>") == 3
    assert "<script>" not in page and "<script src" not in page


def test_bidi_overrides_are_shown_escaped_not_applied(tmp_path):
    sources = load_runs(three_sources(tmp_path, f"cam {RLO}gnp.exe"))
    page = render(sources)
    assert RLO not in page and "\\u202e" in page


def test_chromium_renders_every_section_runs_nothing_and_fetches_nothing(browser, tmp_path):
    """The acceptance check: a hostile run beside two good ones, each hostile name in turn, opened in Chromium:
    three sections with their headings, no script run, no request but the page itself."""
    for i, hostile in enumerate([*HOSTILE_NAMES, f"{RLO}evil"]):
        folder = tmp_path / str(i)
        folder.mkdir()
        report = folder / "report.html"
        report.write_text(render(load_runs(three_sources(folder, hostile))))
        context = browser.new_context()
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda r, seen=requests: seen.append(r.url))
        page.goto(report.as_uri())
        headings = page.eval_on_selector_all("section > h2", "hs => hs.map(h => h.textContent)")
        assert headings == ["good one", hostile.replace(RLO, "\\u202e"), "good two"], hostile
        assert page.evaluate("window.pwned") is None
        assert page.eval_on_selector_all("section img", "imgs => imgs.length") == 3
        assert requests == [report.as_uri()]
        context.close()


# -- the report reads only its runs' own files ------------------------------------------------------------


def outside_jpeg(tmp_path: Path) -> Path:
    """A picture elsewhere on the disk that no report of the run may embed."""
    secret = tmp_path / "elsewhere" / "secret.jpg"
    secret.parent.mkdir()
    cv2.imwrite(str(secret), np.full((50, 50, 3), 30, np.uint8))
    return secret


def point_snapshot_at(run: Path, target: str) -> None:
    events = run.with_name(f"{run.stem}_events.jsonl")
    event = json.loads(events.read_text())
    events.write_text(json.dumps({**event, "snapshot": target}) + "\n")
    for shot in run.parent.glob(f"{run.stem}_events_snapshots/*"):
        shot.unlink()


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_a_snapshot_outside_the_run_is_refused_with_one_line(tmp_path, caplog, how):
    secret = outside_jpeg(tmp_path)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    run = fake_run(run_dir)
    shots = run_dir / "run_events_snapshots"
    if how == "symlink":  # a snapshot inside the folder that is a link out of it
        point_snapshot_at(run, str(shots / "linked.jpg"))
        (shots / "linked.jpg").symlink_to(secret)
    else:
        point_snapshot_at(run, str(secret) if how == "absolute" else f"{run_dir}/../elsewhere/secret.jpg")
    with caplog.at_level(logging.WARNING):
        (source,) = load_runs([run])
    page = render([source])
    assert "data:image/jpeg" not in page and "(no snapshot)" in page
    refused = [r.getMessage() for r in caplog.records if "outside" in r.getMessage()]
    assert len(refused) == 1 and "snapshot" in refused[0], refused


def test_an_events_path_outside_the_run_is_refused(tmp_path, caplog):
    """A summary naming an events file in another folder (not given with --summary) is not followed."""
    run_dir, other = tmp_path / "run", tmp_path / "other"
    run_dir.mkdir()
    other.mkdir()
    run = fake_run(run_dir)
    foreign = fake_run(other, "foreign")
    (run_dir / "run_events.jsonl").unlink()
    summary = run_dir / "run_events_summary.json"
    document = json.loads(summary.read_text())
    summary.write_text(json.dumps({**document, "events_path": str(foreign.with_name("foreign_events.jsonl"))}))
    with caplog.at_level(logging.WARNING):
        (source,) = load_runs([run])
    assert source.events == []
    assert any("outside" in r.getMessage() and "events" in r.getMessage() for r in caplog.records)


def test_a_batch_row_naming_a_file_outside_the_batch_folder_is_refused(tmp_path):
    batch = tmp_path / "batch"
    batch.mkdir()
    fake_run(tmp_path, "x")  # a readable run beside the batch folder
    fake_run(batch, "one")
    rows = [{"name": "one", "status": "ok"}, {"name": "../x", "status": "ok"}, {"name": "a\0b", "status": "ok"}]
    (batch / "report.json").write_text(json.dumps({"files": rows}))
    sources = load_runs([batch])
    assert [s.error is None for s in sources] == [True, False, False]
    assert "outside the batch folder" in sources[1].error and len(sources[1].timeline) == 0


def test_a_folder_run_skips_a_results_link_out_of_it(tmp_path, caplog):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    fake_run(run_dir)
    (run_dir / "zz.jsonl").symlink_to(fake_run(tmp_path, "outside"))
    with caplog.at_level(logging.WARNING):
        sources = load_runs([run_dir])
    assert [s.origin.name for s in sources] == ["run.jsonl"]
    assert any("zz.jsonl" in r.getMessage() and "outside" in r.getMessage() for r in caplog.records)


# -- any numbers, any strings ---------------------------------------------------------------------------


def report(tmp_path: Path, lines: list[str], capsys, events: list[str] | None = None, summary=None) -> str:
    """`facemask report` of a run made of `lines` (and events, summary): its page; fails on any error."""
    path = tmp_path / "run.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    if events is not None:
        path.with_name("run_events.jsonl").write_text("".join(e + "\n" for e in events))
    if summary is not None:
        path.with_name("run_summary.json").write_text(summary)
    out = tmp_path / "r.html"
    code = main(["report", str(path), "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 0 and "unexpected" not in err, err
    return out.read_text()


def frame(t, track="1", label="no_mask") -> str:
    return json.dumps({"frame": 0, "time_s": t, "faces": [{"box": [0, 0, 9, 9], "label": label, "track_id": track}]})


GOOD = [json.dumps({"frame": i, "time_s": i / 10, "faces": []}) for i in range(5)]


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "1e308", "-1e308", "1" + "0" * 400, "true"])
def test_unusable_times_are_skipped_records(tmp_path, capsys, bad):
    line, event = f'{{"frame": 9, "time_s": {bad}, "faces": []}}', f'{{"event": "violation", "time_s": {bad}}}'
    page = report(tmp_path, [*GOOD, line], capsys, events=[event])
    assert "1 line(s) of the JSON Lines were not records" in page and "No violations." in page


def test_wrong_typed_and_extreme_summary_figures_show_as_unknown(tmp_path, capsys):
    summary = {"people": "many", "masked": 1e308, "unmasked": [], "compliance_rate": "abc", "violations": 2}
    summary.update({"masked_time_rate": 1e308, "frames": 5, "duration_s": float("nan")})
    page = report(tmp_path, GOOD, capsys, summary=json.dumps(summary))
    totals = re.search(r"<table class=totals>(.*?)</table>", page).group(1)
    assert "many" not in totals and "abc" not in totals and "e+308" not in totals and "nan" not in totals.lower()
    assert "<th" in totals and ">2</td>" in totals  # the one good figure


def test_two_sources_with_bad_summaries_still_add_up(tmp_path, capsys):
    a, b = fake_run(tmp_path, "a"), fake_run(tmp_path, "b", frames=30)
    summary = a.with_name("a_events_summary.json")
    summary.write_text(json.dumps({**json.loads(summary.read_text()), "people": "two", "violations": None}))
    out = tmp_path / "r.html"
    assert main(["report", str(a), str(b), "--output", str(out)]) == 0, capsys.readouterr().err
    assert "<b>All 2 sources:</b> people 1, violations 1" in out.read_text()


def test_chart_text_is_plain_not_mathtext(tmp_path, capsys):
    mathtext = r"$\undefinedcmd$"
    event = json.dumps({"event": "violation", "time_s": 0.2, "track_id": mathtext})
    page = report(tmp_path, GOOD, capsys, events=[event])
    assert mathtext in page.split("<svg")[1]  # drawn as typed, dollars and all


def test_json_nested_too_deep_is_not_a_record(tmp_path, capsys):
    deep = "[" * 100_000 + "]" * 100_000
    page = report(tmp_path, [*GOOD, deep], capsys, events=[deep], summary=deep)
    assert "1 line(s) of the JSON Lines were not records" in page
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "report.json").write_text(deep)
    out = tmp_path / "b.html"
    assert main(["report", str(batch), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "unexpected" not in err and len(err.splitlines()) == 1


def test_long_strings_are_cut_before_layout(tmp_path, capsys):
    """Two 1 MB strings (a source name, a track id): the page stays small and quick to make."""
    huge = "W" * 2**20
    record = {"source": huge, "frame": 0, "time_s": 0.0, "faces": [{"box": [0, 0, 9, 9], "track_id": 1}]}
    lines = [json.dumps({**record, "frame": i, "time_s": i / 10}) for i in range(5)]
    event = json.dumps({"event": "violation", "time_s": 0.2, "track_id": huge, "source": huge})
    start = time.monotonic()
    page = report(tmp_path, lines, capsys, events=[event])
    assert time.monotonic() - start < 20 and len(page) < 200_000
    assert "W" * 199 + "…" in page and "W" * 201 not in page
