"""Options are checked when parsed: a bad value is one `error:` line and exit 2, the same for every command."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import REPO, run_facemask

from facemask import cli


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "usage:" not in stderr and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--detect-every", "-1", "error: --detect-every must be at least 1, got -1"),
        ("--detect-every", "2.5", "error: --detect-every must be a whole number, got '2.5'"),
        ("--confidence", "1.5", "error: --confidence must be above 0 and below 1, got '1.5'"),
        ("--max-frames", "0", "error: --max-frames must be at least 1, got 0"),
    ],
)
def test_a_bad_value_is_one_line_and_exit_2(option, value, message):
    """As a user types it: `python -m facemask detect photo.jpg --detect-every -1`."""
    proc = run_facemask("detect", "photo.jpg", option, value, timeout=60)
    assert proc.returncode == 2
    assert _one_error_line(proc.stderr) == message
    assert proc.stdout == ""


def _detect_video(argv: list[str]) -> int:
    spec = importlib.util.spec_from_file_location("detect_video", REPO / "detect_video.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


@pytest.mark.parametrize(
    ("run", "argv", "message"),
    [
        (cli.main, ["detect", "a.jpg", "--detect-every", "0"], "--detect-every must be at least 1, got 0"),
        (cli.main, ["benchmark", "v.mp4", "--detect-every", "0"], "--detect-every must be at least 1, got 0"),
        (_detect_video, ["--source", "0", "--detect-every", "0"], "--detect-every must be at least 1, got 0"),
        (cli.main, ["detect", "a.jpg", "--max-megapixels", "0"], "--max-megapixels must be a number above 0"),
        (cli.main, ["evaluate", "d", "--max-megapixels", "nan"], "--max-megapixels must be a number above 0"),
        (cli.main, ["detect", "a.jpg", "--detector-mode", "slow"], "--detector-mode: invalid choice: 'slow'"),
        (cli.main, ["evaluate", "d", "--detector-mode", "slow"], "--detector-mode: invalid choice: 'slow'"),
        (cli.main, ["export", "run", "--quantize", "int4"], "--quantize: invalid choice: 'int4'"),
        (cli.main, ["detect", "a.jpg", "--open-timeout", "inf"], "--open-timeout must be a number of seconds from"),
        (cli.main, ["detect", "a.jpg", "--violation-after", "-1"], "--violation-after must be a number of seconds"),
        (cli.main, ["detect", "a.jpg", "--violation-after", "nan"], "--violation-after must be a number of seconds"),
        (cli.main, ["detect", "a.jpg", "--reconnect", "-1"], "--reconnect must be at least 0, got -1"),
        (cli.main, ["detect", "a.jpg", "--mask-threshold", "0"], "--mask-threshold must be above 0 and below 1"),
        (cli.main, ["app", "--port", "http"], "--port must be a whole number in 1..65535, got 'http'"),
        (cli.main, ["detect"], "the following arguments are required: SOURCE"),
        (cli.main, ["detect", "a.jpg", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_each_check_is_the_same_wherever_the_option_is_taken(capsys, run, argv, message):
    assert run(argv) == 2
    out, err = capsys.readouterr()
    assert message in _one_error_line(err) and out == ""


def test_help_still_prints_the_usage(capsys):
    assert cli.main(["detect", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: facemask detect")


def test_the_table_names_the_subcommand_each_module_registers():
    subcommands = next(a for a in cli.build_parser()._actions if a.dest == "command").choices
    assert list(subcommands) == list(cli.COMMANDS)
    for name, module in cli.COMMANDS.items():
        assert subcommands[name].get_default("func").__module__ == module


def test_model_help_names_every_shipped_model():
    """Issue 19 item 10: `--model` help omitted lite128."""
    from facemask.classification.shipped import SHIPPED

    proc = run_facemask("detect", "--help")
    flat = " ".join(proc.stdout.split())
    assert all(f"{name}:" in flat for name in SHIPPED), flat


def test_an_unknown_model_name_lists_the_valid_ones(tmp_path):
    """`--model resnet` said only "model file not found"."""
    import cv2
    import numpy as np

    image = tmp_path / "face.png"
    cv2.imwrite(str(image), np.full((64, 64, 3), 128, np.uint8))
    proc = run_facemask("detect", str(image), "--model", "resnet", "--no-display")
    line = _one_error_line(proc.stderr)
    assert "default, lite0, lite, ensemble, resnet50" in line and ".tflite" in line


def test_train_help_shows_defaults_and_limits():
    proc = run_facemask("train", "--help")
    flat = " ".join(proc.stdout.split())
    for text in ("(default: 14)", "(default: imagenet)", "32 to 512", "(default: resnet50)", "(default: 32)"):
        assert text in flat, text


def test_batch_takes_only_its_own_flags_and_its_configs_come_from_one_typed_options_object(tmp_path):
    """`batch` declares no --no-track, --events, --beep or --on-violation, and fakes none of them: RunOptions
    keeps their defaults, so a batch's files are tracked, with alerts and no events file or actions."""
    from facemask.cli.configs import RunOptions, build_configs

    args = cli.build_parser().parse_args(
        ["batch", str(tmp_path), "--output", str(tmp_path / "o"), "--confidence", "0.7"]
    )
    assert not {"no_track", "events", "beep", "on_violation"} & set(vars(args))
    config = build_configs(RunOptions.from_args(args), "video").pipeline()
    assert config.tracker is not None and config.detector.confidence == 0.7 and config.detector.mode == "fast"
    outputs = build_configs(RunOptions.from_args(args), "video").alert_outputs(None)
    assert config.alerts is not None and not outputs.beep and outputs.on_violation is None


def test_help_texts_take_their_defaults_from_the_constants():
    from facemask.core.config import DEFAULT_MAX_PIXELS, OPEN_TIMEOUT_S, AlertConfig

    text = " ".join(cli.build_parser()._subparsers._group_actions[0].choices["detect"].format_help().split())
    assert f"(default: {DEFAULT_MAX_PIXELS / 1e6:g})" in text and f"(default: {OPEN_TIMEOUT_S:g})" in text
    assert f"(default: {AlertConfig.min_no_mask_s})" in text and "(default: default)" in text
