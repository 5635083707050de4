"""`facemask detect` on several videos, cameras or streams at once: one process, the models loaded once.

Each source has its own tracker, alerts and outputs (paths in multi_source_outputs.py); the run
itself is pipeline/multi.py. A source that cannot be opened, or dies mid-run, is one
`error: SOURCE: why` line; the others go on and the exit code is PARTIAL_EXIT. The closing
lines give each source's figures, then the totals over all of them.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack

from facemask.cli.configs import RunConfigs, load_pipeline
from facemask.cli.multi_source_outputs import SourcePlan, plan_sources
from facemask.cli.outputs import say, stopped
from facemask.cli.video import readings_line, report_summary, say_videos_written, write_summary_file
from facemask.core.errors import PARTIAL_EXIT, FacemaskError, one_line


def detect_sources(args: argparse.Namespace, configs: RunConfigs, kinds: list[str]) -> int:
    """Run every source together; 0, PARTIAL_EXIT when some failed, 2 when all did, or a signal's code."""
    plans, combined = plan_sources(args, kinds)
    out = configs.output
    if out.display:
        from facemask.sinks.base import check_display

        check_display()  # before minutes of model loading, not after
    failures: dict[str, str] = {}
    opened = _open_sources(args, plans, out.realtime, failures)
    if not opened:
        return 2
    from facemask.pipeline.multi import run_sources

    with ExitStack() as stack:  # until run_sources owns them: whatever is opened is closed on a failure
        runs = _source_runs(configs, opened, stack)
        window = None
        if out.display:
            from facemask.pipeline.mosaic import MosaicWindow

            window = MosaicWindow([run.name for run in runs])

        def on_error(lane, exc: FacemaskError) -> None:
            failures[lane.name] = _error_line(next(p.spec for p in plans if p.name == lane.name), exc)
            print(f"error: {failures[lane.name]}", file=sys.stderr)

        stats = run_sources(runs, args.max_frames, on_error, window)
    _report(args, plans, runs, stats, failures, combined)
    if args.report is not None:
        from facemask.cli.report import write_run_report

        results = [(p.json, combined or p.summary) for p in plans if p.json is not None]
        say(args, write_run_report(args.report, results))
    signal = next((s.stop_signal for s in stats if s.stop_signal is not None), None)
    if signal is not None:
        return stopped(signal)
    if failures:
        return PARTIAL_EXIT if len(failures) < len(plans) else 2
    return 0


def _open_sources(args: argparse.Namespace, plans: list[SourcePlan], realtime: bool, failures: dict) -> list:
    """(plan, started source) for each source that opens; each one that does not is an `error:` line."""
    from facemask.io.sources import open_source

    opened = []
    for plan in plans:
        source = open_source(plan.spec, realtime=realtime, timeout_s=args.open_timeout, reconnect=args.reconnect)
        try:
            opened.append((plan, source.start()))
        except FacemaskError as exc:
            source.stop()
            failures[plan.name] = _error_line(plan.spec, exc)
            print(f"error: {failures[plan.name]}", file=sys.stderr)
    return opened


def _source_runs(configs: RunConfigs, opened: list, stack: ExitStack) -> list:
    """One pipeline per source on the models loaded once, and its outputs; all closed by `stack` on a failure."""
    from facemask.alerts.outputs import events_output
    from facemask.pipeline.multi import SourceRun
    from facemask.sinks.video_outputs import VideoOutputs

    for _, source in opened:  # every reader thread stopped, however far the set-up gets
        stack.callback(source.stop)
    runs, first = [], None
    for plan, source in opened:
        config = configs.pipeline(sources=len(opened), name=plan.name)  # every source a video, camera or stream
        alert_outputs = configs.alert_outputs(plan.events)
        pipeline = first = load_pipeline(config, like=first)
        events = events_output(alert_outputs) if pipeline.alerts is not None else None
        sinks = VideoOutputs(video=plan.video, jsonl=plan.json, source=plan.name).sinks(source.fps, events=events)
        for sink in sinks:
            stack.callback(sink.discard)  # a no-op once the run has closed it
        runs.append(SourceRun(plan.name, pipeline, source, sinks))
    return runs


def _error_line(spec: str, exc: FacemaskError) -> str:
    """`SOURCE: why`, unless the message already starts with the source."""
    message = str(exc)
    return one_line(message if message.startswith(spec) else f"{spec}: {message}")


def _report(args, plans: list[SourcePlan], runs: list, stats: list, failures: dict, combined) -> None:
    """Each source's closing lines and summary, then the totals over all sources (and `--summary` FILE)."""
    from facemask.alerts.monitor import total_line, total_summary

    sections = {p.name: {"source": p.spec, "error": failures.get(p.name)} for p in plans}
    for run, st in zip(runs, stats):
        say(args, f"{run.name}: {readings_line(st)}")
        if st.summary is not None:
            sections[run.name].update(st.summary)
            plan = next(p for p in plans if p.name == run.name)
            report_summary(args, st.summary, plan.summary, name=run.name)
        say_videos_written(args, run.sinks, name=run.name)
    summaries = [s for s in sections.values() if "people" in s]
    if not summaries:
        return
    total = total_summary(summaries)
    say(args, f"all {len(plans)} sources: {total_line(total)}")
    if combined is not None:
        write_summary_file(args, combined, {"sources": sections, "total": total})
