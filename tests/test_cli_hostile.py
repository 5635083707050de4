"""The command line against hostile input and timing (issue 40): a TIFF bomb named `.jpg` copied to an image
output, and Ctrl-C at any moment of start-up, each a clear `error:` line with its exit status."""

from __future__ import annotations

import argparse

import pytest
from nasty_files import tiff_bomb

import facemask.cli
from facemask.cli import main
from facemask.cli.run import run_command

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_a_tiff_bomb_named_jpg_with_an_image_output_is_one_error_line(tmp_path, capsys):
    bomb = tiff_bomb(tmp_path / "photo.jpg")
    assert main(["detect", str(bomb), "--output", str(tmp_path / "out.jpg")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "decompression bomb" in err[0] and "unexpected" not in err[0], err
    assert not (tmp_path / "out.jpg").exists()


def test_ctrl_c_while_the_commands_load_exits_130(monkeypatch, capsys):
    def interrupted_build():
        raise KeyboardInterrupt

    monkeypatch.setattr(facemask.cli, "build_parser", interrupted_build)
    assert main(["detect", "x.jpg"]) == 130
    assert capsys.readouterr().err.strip() == "error: interrupted"


def test_ctrl_c_whose_clean_up_fails_still_exits_130(capsys):
    """Ctrl-C lands in a half-started run whose clean-up then fails (a reader thread not started yet): the
    failure raised while the interrupt unwound is the interrupt's, not an unexpected error (exit 3)."""

    class HalfStarted:
        def stop(self) -> None:
            raise AttributeError("'HalfStarted' object has no attribute '_thread'")

    def command(args: argparse.Namespace) -> int:
        source = HalfStarted()
        try:
            raise KeyboardInterrupt  # arrives during start-up
        finally:
            source.stop()

    assert run_command(argparse.Namespace(func=command, verbose=False)) == 130
    assert capsys.readouterr().err.strip() == "error: interrupted"
