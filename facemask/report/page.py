"""The report as one self-contained HTML file: inline CSS, inline SVG charts, thumbnails as data URIs, no script.

Per source: its totals (the summary's figures, with the summary's own definitions on hover and
below), its timeline with the violations marked, compliance by hour when the run is longer than an
hour, and the violations' snapshots. Each timeline's plotted series is also embedded as JSON
(`<script type="application/json">`, data only, never run), so a reader can check it against the
JSON Lines. Written through safeio.write_text: a report is either whole or not there.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import cv2

from facemask.alerts.monitor import DEFINITIONS, total_line, total_summary
from facemask.core.labels import compliance_text
from facemask.io.imageio import decode_image, read_bounded
from facemask.io.safeio import write_text
from facemask.report.charts import hourly_svg, timeline_svg
from facemask.report.runs import SourceData
from facemask.report.text import MAX_TEXT, plain
from facemask.report.timeline import HOUR_S

MAX_POINTS = 2000  # a longer run is plotted as this many time bins, each the mean of its frames
THUMB_SIDE = 120
MAX_THUMBS = 48  # per source; the rest are counted
SNAPSHOT_LIMIT = 8 * 2**20
TOTAL_ROWS = [  # (summary key, row label, definition key)
    ("people", "People", "person"),
    ("masked", "Masked people", "masked"),
    ("unmasked", "Unmasked people", "masked"),
    ("compliance_rate", "Compliance", "compliance_rate"),
    ("masked_time_rate", "Masked share of person-time", "masked_time_rate"),
    ("violations", "Violations", "violation"),
    ("violators", "People with a violation", "violators"),
    ("resolved", "Violations resolved", "resolved"),
    ("frames", "Frames", None),
    ("duration_s", "Duration (s)", None),
]
STYLE = """
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#222}
h1{margin-bottom:4px} h2{margin-top:36px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:8px 0} td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}
td.n{text-align:right} .muted{color:#777;font-size:90%} .error{color:#b00}
.shots{display:flex;flex-wrap:wrap;gap:8px} figure{margin:0;font-size:80%;text-align:center}
figure img{display:block;border:2px solid #d7191c} svg{width:100%;height:auto}
dl{font-size:85%;color:#555} dt{font-weight:600;margin-top:4px}
"""


def render(sources: list[SourceData], title: str = "Face-mask report") -> str:
    """The whole page for `sources`."""
    parts = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{_e(title)}</title>"]
    parts.append(f"<style>{STYLE}</style></head><body><h1>{_e(title)}</h1>")
    summaries = [s.summary for s in sources if s.summary is not None]
    if len(sources) > 1 and summaries:
        parts.append(f"<p><b>All {len(sources)} sources:</b> {_e(total_line(total_summary(summaries)))}</p>")
    parts.extend(_source(source, i) for i, source in enumerate(sources))
    parts.append(_definitions())
    parts.append("</body></html>\n")
    return "".join(parts)


def write_html_report(path: Path, sources: list[SourceData], title: str = "Face-mask report") -> Path:
    return write_text(path, render(sources, title))


def _source(source: SourceData, index: int) -> str:
    head = f"<section id=source-{index}><h2>{_e(source.name)}</h2><p class=muted>{_e(str(source.origin))}</p>"
    if source.error is not None:
        return head + f"<p class=error>Not processed: {_e(source.error)}</p></section>"
    parts = [head, _totals(source)]
    timeline = source.timeline
    violations = [e for e in source.events if e.get("event") == "violation"]
    series = timeline.series(MAX_POINTS)
    parts.append(timeline_svg(series, violations, timeline_title(source), salt=f"t{index}"))
    data = json.dumps({"source": plain(source.name), "series": series, "violations": [e["time_s"] for e in violations]})
    parts.append(f'<script type="application/json" id="series-{index}">{_script_safe(data)}</script>')
    if timeline.duration_s > HOUR_S:
        parts.append(
            hourly_svg(timeline.hourly(), "Compliance by hour (masked / people with a known label)", f"h{index}")
        )
    parts.append(_violations(violations))
    if source.skipped:
        parts.append(
            f"<p class=muted>{source.skipped} line(s) of the JSON Lines were not records and were skipped.</p>"
        )
    return "".join(parts) + "</section>"


def timeline_title(source: SourceData) -> str:
    """What the timeline counts: people (tracked ids), or faces in a run made without tracking."""
    what = "People present" if source.timeline.tracked else "Faces (untracked run)"
    wrong = " (amber: of them, mask below nose)" if source.timeline.incorrect else ""
    return f"{what}, masked and unmasked{wrong}; red lines: violations"


def _totals(source: SourceData) -> str:
    summary = source.summary
    if summary is None:
        return "<p class=muted>No summary found beside the JSON Lines: totals are not shown (see --summary).</p>"
    rows = []
    for key, label, definition in TOTAL_ROWS:
        value = summary.get(key)
        if key.endswith("_rate"):
            value = compliance_text(value)
        hint = f' title="{_e(DEFINITIONS[definition], None)}"' if definition else ""
        rows.append(f"<tr><th{hint}>{_e(label)}</th><td class=n>{_e('-' if value is None else str(value))}</td></tr>")
    return "<table class=totals>" + "".join(rows) + "</table>"


def _violations(violations: list[dict]) -> str:
    if not violations:
        return "<p>No violations.</p>"
    shots = []
    for event in violations[:MAX_THUMBS]:
        caption = f"#{event.get('track_id', '?')} at {_clock(event['time_s'])}"
        uri = thumbnail_uri(event.get("snapshot_file"))
        image = f'<img alt="{_e(caption)}" src="{uri}">' if uri else "<span class=muted>(no snapshot)</span>"
        shots.append(f"<figure>{image}<figcaption>{_e(caption)}</figcaption></figure>")
    more = len(violations) - MAX_THUMBS
    tail = f"<p class=muted>and {more} more</p>" if more > 0 else ""
    return f"<h3>Violations ({len(violations)})</h3><div class=shots>{''.join(shots)}</div>{tail}"


def thumbnail_uri(path: Path | None) -> str | None:
    """A snapshot scaled to THUMB_SIDE as a JPEG data URI; None when it is missing or unreadable."""
    if path is None:
        return None
    try:
        image = decode_image(read_bounded(path, SNAPSHOT_LIMIT), str(path))
    except Exception:  # noqa: BLE001 - a bad snapshot costs its thumbnail, never the report
        return None
    scale = THUMB_SIDE / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return "data:image/jpeg;base64," + base64.b64encode(data.tobytes()).decode() if ok else None


def _definitions() -> str:
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v, None)}</dd>" for k, v in DEFINITIONS.items())
    return f"<h2>Definitions (as in the summary)</h2><dl>{items}</dl>"


def _clock(seconds: float) -> str:
    """`12.3 s` into a short run, `1:02:03` into a long one."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(int(seconds), 60)
    hours, m = divmod(minutes, 60)
    return f"{hours:d}:{m:02d}:{s:02d}"


def _e(text: str, limit: int | None = MAX_TEXT) -> str:
    """Text for the page: plain (report/text.py), then HTML-escaped."""
    return html.escape(plain(text, limit), quote=True)


def _script_safe(text: str) -> str:
    """JSON inside a <script> element holding no `<`, `>` or `&` at all (each as its JSON escape, which reads back
    the same): a string like `</script>` cannot end it, nor `<!--<script` put the parser in a state where the
    real end tag no longer ends it and the page's later sections are swallowed."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
