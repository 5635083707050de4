"""`facemask batch FOLDER_OR_LIST --output DIR`: every video of an archive through the detect pipeline, on Ray.

Per video, under DIR: `<stem>.jsonl` (the lines `facemask detect FILE --json` writes),
`<stem>.events.jsonl` with `<stem>.events_snapshots/` (what `--events` writes),
`<stem>.summary.json` (written last: its presence means the video is done) and, with `--video`,
`<stem>.mp4`; then `report.json` and `report.csv` for the whole batch. A re-run skips the videos
that are done. Exit status: 0 when every video is ok, 1 when some failed (each listed in the report
with its error), 2 for bad input, 128 + the signal number when stopped.
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING

from facemask.cli import options, values
from facemask.cli.configs import RunOptions, build_configs, set_pixel_budget
from facemask.cli.outputs import stopped
from facemask.core.errors import FacemaskError, printable

if TYPE_CHECKING:  # annotations only: the batch modules load when the command runs
    from facemask.batch.plan import FileJob
    from facemask.batch.report import FileResult
    from facemask.batch.runner import Backend
    from facemask.core.config import PipelineConfig


def register(subparsers) -> None:
    p = subparsers.add_parser("batch", help="process a folder or list of videos, in parallel on a Ray cluster")
    p.add_argument(
        "source",
        type=Path,
        metavar="FOLDER_OR_LIST",
        help="a folder of videos (subfolders too), or a text file of video paths, one a line (relative to it)",
    )
    p.add_argument("--output", type=Path, required=True, metavar="DIR", help="folder for every output and the report")
    p.add_argument("--video", action="store_true", help="also write each annotated video, DIR/<name>.mp4")
    p.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="join the Ray cluster at ADDR (started with `ray start --head`); default: start one on this machine",
    )
    p.add_argument(
        "--workers",
        type=values.positive_int,
        metavar="N",
        help="workers, one CPU and one thread each (default: every CPU of this machine, or of the cluster)",
    )
    options.add_blur(p)
    options.add_report(
        p, "HTML report of every video of the batch (see `facemask report`), written at the end, also when stopped"
    )
    options.add_model(p)
    options.add_detector_options(p)
    options.add_detect_every(p)
    options.add_violation_after(p)
    options.add_max_megapixels(p, "refuse videos whose frames declare more pixels than this")
    # What `detect` takes but a batch does not (--no-track, --events, --beep, --on-violation) keeps RunOptions'
    # default: tracked (the summary needs it), no actions; each video's events go beside its other outputs
    # (batch/worker.py FileWorker._events).
    p.set_defaults(func=run, mute_native=True)


def run(args: argparse.Namespace) -> int:
    from facemask.batch.lock import batch_lock, remove_dead_partials
    from facemask.batch.plan import plan_batch

    set_pixel_budget(args.max_megapixels)
    config = build_configs(RunOptions.from_args(args), "video").pipeline()
    jobs = plan_batch(args.source, args.output, video=args.video)
    if args.report is not None:
        from facemask.io.safeio import check_writable

        check_writable(args.report, "--report")
    backend = _backend(args)
    _make_folder(jobs[0].out_dir)
    with batch_lock(jobs[0].out_dir):  # one batch at a time on a folder; a dead one's partial files go
        outputs = _outputs(jobs)
        remove_dead_partials(outputs)
        try:
            return _run_locked(args, jobs, config, backend)
        finally:
            remove_dead_partials(outputs)


def _outputs(jobs: list[FileJob]) -> list[Path]:
    from facemask.batch.report import REPORT_CSV, REPORT_JSON

    out_dir = jobs[0].out_dir
    named = [p for job in jobs for p in job.files]
    return [*named, out_dir / REPORT_JSON, out_dir / REPORT_CSV]


def _run_locked(args: argparse.Namespace, jobs: list[FileJob], config: PipelineConfig, backend: Backend) -> int:
    """The batch, once its folder is locked: the videos not done, then the report over all of them."""
    from facemask.batch.report import earlier_rows, resumed_result, write_batch_report
    from facemask.batch.worker import BatchStopped

    out_dir = jobs[0].out_dir
    earlier = earlier_rows(out_dir)
    resumed = (resumed_result(job, earlier) for job in jobs if job.done())
    results = {r.name: r for r in resumed if r.ok}  # an unreadable summary: that video runs again
    todo = [job for job in jobs if job.name not in results]
    print(f"{len(jobs)} videos: {len(results)} done by an earlier run, {len(todo)} to process")
    start, signum = perf_counter(), None
    try:
        _process(backend, todo, config, results, len(jobs))
    except KeyboardInterrupt:  # between videos in this process (during one, the loop's StopSignals has it)
        signum = signal.SIGINT
    except BatchStopped as stop:
        signum = stop.signum
    ordered = [results[job.name] for job in jobs if job.name in results]
    json_path, csv_path = write_batch_report(out_dir, ordered, perf_counter() - start)
    failed = sum(not r.ok for r in ordered)
    print(f"{len(ordered) - failed} of {len(jobs)} videos ok, {failed} failed; report: {json_path}, {csv_path}")
    if args.report is not None:
        from facemask.report.page import write_html_report
        from facemask.report.runs import load_runs

        write_html_report(args.report, load_runs([out_dir]))
        print(f"wrote report to {args.report}")
    if signum is not None:
        print(f"not run: {len(jobs) - len(ordered)} of {len(jobs)} videos; the same command again resumes the batch")
        return stopped(signum)
    return 1 if failed else 0


def _backend(args: argparse.Namespace) -> Backend:
    """Ray when installed (a cluster with --ray-address), else this process, said in one line."""
    from facemask.batch.runner import NO_RAY_HINT, Backend, import_ray

    ray = import_ray()
    if ray is None and args.ray_address:
        raise FacemaskError("--ray-address needs Ray: pip install 'facemask[cluster]'")
    if ray is None:
        print(NO_RAY_HINT)
    return Backend(ray, args.ray_address, args.workers, args.verbose)


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FacemaskError(f"{folder}: cannot create output folder ({exc.strerror})") from None


def _process(
    backend: Backend, todo: list[FileJob], config: PipelineConfig, results: dict[str, FileResult], total: int
) -> None:
    """Run the videos left, each result into `results` and a line (above a progress bar on a terminal)."""
    from facemask.batch.runner import run_jobs
    from facemask.sinks.progress_bar import progress_bar

    if not todo:
        return
    running = run_jobs(backend, todo, config, started=lambda where: print(f"processing {where}"))
    with progress_bar(running, desc="videos", total=len(todo)) as bar:
        for result in bar:
            results[result.name] = result
            bar.write(printable(f"[{len(results)}/{total}] {describe(result)}"))


def describe(result: FileResult) -> str:
    """A video's line: `clip: ok, 240 frames, 3 people, 1 violation, compliance 67%, 8.1 s on host/1a2b3c4d`."""
    from facemask.core.labels import compliance_text

    if not result.ok:
        return f"{result.name}: error: {result.error}"
    return (
        f"{result.name}: ok, {result.frames} frames, {result.people} people, {result.violations} violations, "
        f"compliance {compliance_text(result.compliance)}, {result.seconds} s on {result.node}"
    )
