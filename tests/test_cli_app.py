"""`facemask app`: the Streamlit command it runs, and a clear line when Streamlit is missing."""

from __future__ import annotations

import importlib.util
import socket

import pytest
from conftest import assert_one_error, run_isolated

from facemask import cli
from facemask.cli import app as cli_app


@pytest.fixture
def served(monkeypatch) -> list[list[str]]:
    """Commands `facemask app` would run; nothing is started."""
    commands: list[list[str]] = []
    monkeypatch.setattr(cli_app, "_serve", lambda command: commands.append(command) or 0)
    monkeypatch.setattr(cli_app, "check_port_free", lambda host, port: None)  # 8501 may be busy here
    monkeypatch.delenv(cli_app.MAX_MB_ENV, raising=False)
    return commands


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_defaults_are_loopback_headless_and_private(served):
    assert cli.main(["app"]) == 0
    (command,) = served
    assert command[1:4] == ["-m", "streamlit", "run"] and command[4] == str(cli_app.APP_SCRIPT)
    assert _option(command, "--server.address") == "127.0.0.1"
    assert _option(command, "--server.port") == "8501"
    assert _option(command, "--server.headless") == "true"
    assert _option(command, "--browser.gatherUsageStats") == "false"


def test_port_host_and_upload_limit(served, monkeypatch):
    monkeypatch.setenv(cli_app.MAX_MB_ENV, "500")
    assert cli.main(["app", "--port", "9123", "--host", "0.0.0.0"]) == 0
    (command,) = served
    assert _option(command, "--server.port") == "9123"
    assert _option(command, "--server.address") == "0.0.0.0"
    assert int(_option(command, "--server.maxUploadSize")) > 500  # the page, not Streamlit, rejects big files


@pytest.mark.parametrize(
    "argv, env, message",
    [
        (["app", "--port", "70000"], None, "error: --port must be in 1..65535, got 70000"),
        (["app"], "lots", "error: FACEMASK_APP_MAX_MB='lots': expected a whole number of megabytes"),
        (["app"], "0", "error: FACEMASK_APP_MAX_MB='0': must be a number of megabytes from 1 to 1e+06"),
    ],
)
def test_bad_settings_are_one_line_errors(served, monkeypatch, capsys, argv, env, message):
    if env is not None:
        monkeypatch.setenv(cli_app.MAX_MB_ENV, env)
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.strip() == message
    assert served == []


def test_missing_streamlit_says_how_to_install(served, monkeypatch, capsys):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "streamlit" else real_find_spec(name, *a)
    )
    assert cli.main(["app"]) == 2
    assert capsys.readouterr().err == "error: streamlit is not installed: pip install 'facemask[app]'\n"
    assert served == []


# ---------------------------------------------------------------- a port or address it cannot serve on


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_app_on_a_busy_port_is_one_error(host):
    pytest.importorskip("streamlit")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = run_isolated("app", "--port", port, "--host", host, timeout=60)
    assert_one_error(proc, f"port {port} on {host} is already in use", code=2)


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ("192.0.2.1", "cannot serve on 192.0.2.1:"),
        ("no-such-host.invalid", "--host no-such-host.invalid: not an address"),
    ],
)
def test_app_on_an_address_it_cannot_serve_is_one_error(host, fragment):
    pytest.importorskip("streamlit")
    assert_one_error(run_isolated("app", "--port", "8599", "--host", host, timeout=60), fragment, code=2)
