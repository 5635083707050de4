"""Each file's result and the batch's combined report: `DIR/report.json` and `DIR/report.csv`.

A row per input, in input order: its figures from its summary, `ok` or `error` with the message,
the node that processed it and the seconds it took; then the totals. Files done by an earlier
run are read back from their summaries (and the earlier report, for their node and seconds),
so the report always covers the whole batch.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from facemask.batch.plan import FileJob
from facemask.core.labels import compliance_rate
from facemask.io.safeio import write_text

REPORT_JSON, REPORT_CSV = "report.json", "report.csv"


@dataclass(frozen=True)
class FileResult:
    """One input's line in the report. Figures are None when the file failed."""

    file: str
    name: str
    status: str  # "ok" or "error"
    error: str | None = None
    frames: int | None = None
    people: int | None = None
    masked: int | None = None
    unmasked: int | None = None
    violations: int | None = None
    compliance: float | None = None
    node: str | None = None
    seconds: float | None = None
    resumed: bool = False  # done by an earlier run of the batch

    @classmethod
    def from_summary(cls, job: FileJob, summary: dict, node: str | None, seconds: float | None) -> FileResult:
        figures = {k: summary.get(k) for k in ("frames", "people", "masked", "unmasked", "violations")}
        compliance = summary.get("compliance_rate")
        return cls(str(job.path), job.name, "ok", None, **figures, compliance=compliance, node=node, seconds=seconds)

    @classmethod
    def failed(cls, job: FileJob, error: str, node: str | None = None, seconds: float | None = None) -> FileResult:
        return cls(str(job.path), job.name, "error", error, node=node, seconds=seconds)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def resumed_result(job: FileJob, earlier: dict[str, dict]) -> FileResult:
    """A file an earlier run finished: its summary's figures, and its node and seconds from the earlier report."""
    try:
        summary = json.loads(job.outputs.summary.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return FileResult.failed(job, f"{job.outputs.summary}: unreadable summary from an earlier run ({exc})")
    row = earlier.get(str(job.path), {})
    result = FileResult.from_summary(job, summary, row.get("node"), row.get("seconds"))
    return replace(result, resumed=True)


def earlier_rows(out_dir: Path) -> dict[str, dict]:
    """The previous report's rows by input path; none when there is no readable report."""
    try:
        rows = json.loads((out_dir / REPORT_JSON).read_text(encoding="utf-8"))["files"]
        return {row["file"]: row for row in rows if isinstance(row, dict) and "file" in row}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def totals(results: list[FileResult], wall_s: float) -> dict:
    """The batch's sums; compliance over every person of every file."""

    def total(key: str) -> int:
        return sum(getattr(r, key) or 0 for r in results)

    return {
        "files": len(results),
        "ok": sum(r.ok for r in results),
        "failed": sum(not r.ok for r in results),
        "resumed": sum(r.resumed for r in results),
        **{key: total(key) for key in ("frames", "people", "masked", "unmasked", "violations")},
        "compliance": compliance_rate(total("masked"), total("unmasked")),
        "nodes": sorted({r.node for r in results if r.node}),
        "seconds": round(sum(r.seconds or 0.0 for r in results), 2),
        "wall_s": round(wall_s, 2),
    }


def write_batch_report(out_dir: Path, results: list[FileResult], wall_s: float) -> tuple[Path, Path]:
    """`report.json` (files and totals) and `report.csv` (a row per file, then a `total` row), atomically."""
    summed = totals(results, wall_s)
    rows = [asdict(r) for r in results]
    json_path = write_text(out_dir / REPORT_JSON, json.dumps({"files": rows, "totals": summed}, indent=1) + "\n")
    columns = [f.name for f in fields(FileResult)]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    last = {k: summed[k] for k in columns if k in summed and k != "resumed"}
    writer.writerow({**last, "file": "total", "status": f"{summed['ok']} ok, {summed['failed']} failed"})
    csv_path = write_text(out_dir / REPORT_CSV, text.getvalue())
    return json_path, csv_path
