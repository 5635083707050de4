"""The report's charts, drawn by matplotlib as SVG text to inline in a page: nothing fetched, nothing by hand.

Figures are made with `matplotlib.figure.Figure` (no pyplot, no global state), so the web page's
threads can draw at once. Path simplification is off: every plotted point is in the SVG, so a
test can read the series back from it. Each series' group has an id (`people`, `masked`,
`unmasked`, `incorrect`, `violation-N`) for the same reason.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import matplotlib
from matplotlib.figure import Figure

from facemask.report.text import plain
from facemask.report.timeline import HOUR_S

COLORS = {"people": "#2c7bb6", "masked": "#1a9641", "unmasked": "#d7191c", "incorrect": "#ffbf00"}
LABELS = {"people": "people present", "masked": "masked", "unmasked": "unmasked", "incorrect": "mask below nose"}
# Text is drawn as given: no mathtext (a track id `$\undefinedcmd$` is a string, not a formula), no TeX.
RC = {"path.simplify": False, "svg.fonttype": "none", "font.size": 9, "text.parse_math": False, "text.usetex": False}


def to_svg(figure: Figure, salt: str) -> str:
    """The figure as an `<svg>` element (no XML prologue), its ids salted so several charts share a page."""
    buffer = io.StringIO()
    with matplotlib.rc_context({**RC, "svg.hashsalt": salt}):
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _time_axis(duration_s: float) -> tuple[float, str]:
    """Seconds, minutes or hours on the x axis, whichever reads best for the run's length."""
    if duration_s >= 2 * HOUR_S:
        return HOUR_S, "hours into the run"
    if duration_s >= 120:
        return 60.0, "minutes into the run"
    return 1.0, "seconds into the run"


def timeline_svg(series: dict[str, list[float]], violations: Sequence[dict], title: str, salt: str) -> str:
    """People present, masked and unmasked (and with a mask below the nose, a part of the unmasked, when the series
    has them) over time, each violation a red line labelled with its person's id."""
    times = series["time_s"]
    unit, axis_label = _time_axis(times[-1] - times[0] if times else 0.0)
    with matplotlib.rc_context(RC):
        figure = Figure(figsize=(9, 2.8))
        ax = figure.add_subplot()
        width = {"people": 4.0, "masked": 1.4, "unmasked": 1.4, "incorrect": 1.4}  # people wide and pale, behind
        for key in [k for k in COLORS if k in series]:
            (line,) = ax.plot(
                [t / unit for t in times], series[key], color=COLORS[key], label=LABELS[key], linewidth=width[key]
            )
            line.set_gid(key)
            line.set_alpha(0.35 if key == "people" else 1.0)
        top = max([1.0, *series["people"]])
        xs = [event["time_s"] / unit for event in violations]
        for i, x in enumerate(xs):
            ax.axvline(x, color=COLORS["unmasked"], linestyle="--", linewidth=0.9, gid=f"violation-{i}")
        ends = xs + [t / unit for t in (times[:1] + times[-1:])]
        span = max(ends, default=1.0) - min(ends, default=0.0)
        for x, level, text in marker_labels(xs, ["#" + plain(e.get("track_id", "?")) for e in violations], span):
            ax.annotate(text, (x, top * (1.02 + 0.1 * level)), color=COLORS["unmasked"], fontsize=7)
        ax.set_ylim(0, top * 1.3)
        ax.set_xlabel(axis_label)
        ax.set_ylabel("people")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_title(title, loc="left")
        ax.legend(loc="upper right", fontsize=8, ncols=len([k for k in COLORS if k in series]), frameon=False)
        ax.grid(alpha=0.25)
        return to_svg(figure, salt)


MERGE = 0.04  # markers closer than this share of the time axis share one label
LEVELS = 2  # neighbouring labels alternate between this many heights
MAX_IDS = 3  # ids written out in one merged label; the rest counted


def marker_labels(xs: Sequence[float], names: Sequence[str], span: float) -> list[tuple[float, int, str]]:
    """(x, height level, text) of the violation labels: markers closer together than MERGE of the axis share one
    label (`#3, #5, #8 +2`), and each label sits a level above the one before it, so none covers another."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    groups: list[list[int]] = []
    for i in order:
        if groups and xs[i] - xs[groups[-1][0]] <= MERGE * max(span, 1e-9):
            groups[-1].append(i)
        else:
            groups.append([i])
    labels = []
    for k, group in enumerate(groups):
        shown = ", ".join(names[i] for i in group[:MAX_IDS])
        more = f" +{len(group) - MAX_IDS}" if len(group) > MAX_IDS else ""
        labels.append((xs[group[0]], k % LEVELS, shown + more))
    return labels


def hourly_svg(rows: list[dict], title: str, salt: str) -> str:
    """Compliance (masked people / people with a known label) for each hour of the run, as bars."""
    with matplotlib.rc_context(RC):
        figure = Figure(figsize=(9, 2.4))
        ax = figure.add_subplot()
        hours = [row["hour"] for row in rows]
        rates = [100 * row["compliance_rate"] if row["compliance_rate"] is not None else 0.0 for row in rows]
        bars = ax.bar(hours, rates, color=COLORS["masked"], gid="compliance-by-hour")
        for bar, row in zip(bars, rows):
            known = row["masked"] + row["unmasked"]
            ax.annotate(f"{row['masked']}/{known}", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center")
        ax.set_ylim(0, 110)
        ax.set_xticks(hours, [f"{h}-{h + 1} h" for h in hours])
        ax.set_ylabel("compliance %")
        ax.set_title(title, loc="left")
        ax.grid(axis="y", alpha=0.25)
        return to_svg(figure, salt)


def path_points(svg: str, gid: str) -> list[tuple[float, float]]:
    """The vertices of the path in the group `gid` of a chart: what a reader (or a test) sees plotted."""
    found = re.search(rf'<g id="{re.escape(gid)}">\s*<path d="([^"]*)"', svg)
    if found is None:
        return []
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", found.group(1))]
    return list(zip(numbers[0::2], numbers[1::2]))
