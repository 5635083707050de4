"""`facemask detect` on one video file, camera or stream: the pipeline into its outputs, then a summary."""

from __future__ import annotations

import argparse
import logging
from contextlib import ExitStack
from pathlib import Path

from facemask.cli.configs import RunConfigs, load_pipeline
from facemask.cli.outputs import say, stopped, video_output_path
from facemask.core.errors import FacemaskError, one_line

log = logging.getLogger("facemask")


def detect_video(args: argparse.Namespace, configs: RunConfigs, spec: str) -> int:
    from facemask.alerts.outputs import events_output
    from facemask.io.sources import open_source
    from facemask.pipeline.runstats import RunStats
    from facemask.sinks.base import WindowSink
    from facemask.sinks.video_outputs import VideoOutputs

    kind, out = configs.kind, configs.output
    source = open_source(spec, realtime=out.realtime, timeout_s=args.open_timeout, reconnect=args.reconnect)
    with ExitStack() as stack:
        stack.callback(source.stop)
        source.start()
        config, alert_outputs = configs.pipeline(), configs.alert_outputs(configs.options.events)
        pipeline = load_pipeline(config)
        video = None if out.output is None else video_output_path(out.output, spec, kind)
        window = [WindowSink(title=f"facemask: {spec}")] if out.display else []
        # Outputs open only once the source is: a source that cannot be opened leaves none behind.
        events = events_output(alert_outputs) if pipeline.alerts is not None else None
        sinks = VideoOutputs(video=video, jsonl=out.json_path).sinks(source.fps, between=window, events=events)
        progress = progress_sink(source)
        if progress is not None:
            sinks.append(progress)
        stats = RunStats()
        try:
            pipeline.run(source, sinks, max_frames=args.max_frames, stats=stats)
        except FacemaskError:
            if stats.summary is not None:  # a stream that gave up still gets its summary
                _summary_after_failure(args, stats.summary, out.summary_path)
            _report(args, out.json_path, out.summary_path)
            raise
    say(args, readings_line(stats))
    if stats.summary is not None:
        report_summary(args, stats.summary, out.summary_path)
    _report(args, out.json_path, out.summary_path)
    say_videos_written(args, sinks)
    return 0 if stats.stop_signal is None else stopped(stats.stop_signal)


def _summary_after_failure(args: argparse.Namespace, summary: dict, path: Path | None) -> None:
    """The summary of a run that failed: if it cannot be written either (the same full disk), the run's own
    error stays the one line reported (bad input gets one `error:` line) and the summary's is logged."""
    try:
        report_summary(args, summary, path)
    except FacemaskError as exc:
        log.info("the summary was not written either: %s", one_line(str(exc)))


def say_videos_written(args: argparse.Namespace, sinks, name: str = "") -> None:
    """`wrote 300 frames to out.mp4 (h264)` for each video file among `sinks` (led by the source's `name` in a
    multi-source run; a video that got no frame is not said)."""
    from facemask.sinks.base import VideoFileSink

    for sink in sinks:
        if isinstance(sink, VideoFileSink) and (sink.frames or not name):
            line = f"wrote {sink.frames} frames to {sink.path}" + (f" ({sink.codec})" if sink.codec else "")
            say(args, f"{name}: {line}" if name else line)


def readings_line(stats) -> str:
    """`300 frames in 12.0 s (25.0 fps); face readings: 280 mask, 20 no_mask`."""
    labels = ", ".join(f"{n} {label}" for label, n in sorted(stats.labels.items())) or "none"
    return f"{stats.frames} frames in {stats.wall_s:.1f} s ({stats.fps:.1f} fps); face readings: {labels}"


def progress_sink(source):
    """A progress bar for a video file when stderr is a terminal (cameras and streams have no end)."""
    from facemask.io.sources import FileSource
    from facemask.sinks.progress import ProgressBarSink
    from facemask.sinks.progress_bar import show_progress

    if not isinstance(source, FileSource) or not show_progress():
        return None
    return ProgressBarSink(total=source.expected_frames or None, desc=source.path.name)


def report_summary(args: argparse.Namespace, summary: dict, path: Path | None, name: str = "") -> None:
    """A run's summary (`stats.summary`) as the CLI gives it: its line (led by the source's `name` in a
    multi-source run), then the file, when a path is known. Every summary detect prints goes through here."""
    from facemask.alerts.monitor import summary_line

    say(args, f"{name}: {summary_line(summary)}" if name else summary_line(summary))
    if path is not None:
        write_summary_file(args, path, summary)


def write_summary_file(args: argparse.Namespace, path: Path, document: dict) -> None:
    """A summary document (one run's, or a multi-source run's totals) written, and said."""
    from facemask.sinks.video_outputs import write_summary

    write_summary(path, document)
    say(args, f"wrote summary to {path}")


def _report(args: argparse.Namespace, json_path: Path | None, summary: Path | None) -> None:
    """`--report`: drawn from the JSON Lines and summary just written, however the run ended."""
    if args.report is not None and json_path is not None:
        from facemask.cli.report import write_run_report

        say(args, write_run_report(args.report, [(json_path, summary)]))
