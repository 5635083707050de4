"""`facemask app`: serve the Streamlit page (facemask/app/page.py) on loopback.

Streamlit is an optional extra, so it is looked up before anything is started and a missing
install is one clear line instead of a traceback. The page is bound to 127.0.0.1 unless the
user asks for another address: it accepts uploads, so it should not face a network by default.
"""

from __future__ import annotations

import argparse
import errno
import importlib.util
import signal
import socket
import subprocess
import sys
from pathlib import Path

from facemask.cli import values
from facemask.core.errors import FacemaskError

APP_SCRIPT = Path(__file__).resolve().parents[1] / "app" / "page.py"
MAX_MB_ENV = "FACEMASK_APP_MAX_MB"
DEFAULT_MAX_MB = 50
STREAMLIT_MIN_UPLOAD_MB = 200  # Streamlit's own default; the page enforces the real limit


def upload_limit_mb() -> int:
    """The per-file upload limit the page enforces, from FACEMASK_APP_MAX_MB (default 50)."""
    from facemask.core.env import env_number

    return int(env_number(MAX_MB_ENV, DEFAULT_MAX_MB, 1, 10**6, "megabytes", whole=True))


def streamlit_command(host: str, port: int) -> list[str]:
    """The `streamlit run` command line: headless, no usage statistics, bound to `host`."""
    # Streamlit's server limit sits above ours so the page itself can reject big files with a message.
    server_limit = max(STREAMLIT_MIN_UPLOAD_MB, upload_limit_mb() + 1)
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_SCRIPT),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.maxUploadSize",
        str(server_limit),
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]


def check_port_free(host: str, port: int) -> None:
    """Bind `host:port` as Streamlit's server would, and let go: a busy port is one line here,
    not Streamlit's own message after it has started."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise FacemaskError(f"--host {host}: not an address this machine can serve on ({exc})") from None
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(
                socket.SOL_SOCKET, socket.SO_REUSEADDR, 1
            )  # as Tornado: a closed port in TIME_WAIT is free
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise FacemaskError(
                        f"port {port} on {host} is already in use (another facemask app?); pick another with --port"
                    ) from None
                if exc.errno == errno.EACCES:
                    raise FacemaskError(f"port {port} on {host}: permission denied; pick one above 1023") from None
                raise FacemaskError(f"cannot serve on {host}:{port} ({exc.strerror})") from None


def run(a: argparse.Namespace) -> int:
    if importlib.util.find_spec("streamlit") is None:
        raise FacemaskError("streamlit is not installed: pip install 'facemask[app]'")
    check_port_free(a.host, a.port)
    command = streamlit_command(a.host, a.port)
    print(f"facemask app: http://{a.host}:{a.port} (Ctrl+C to stop)", file=sys.stderr)
    return _serve(command)


def _serve(command: list[str]) -> int:
    """Run Streamlit until it exits; Ctrl+C reaches it too, so that is a normal stop, not an error.

    SIGTERM to this process is passed on, so `kill` on `facemask app` leaves no orphan server.
    """
    with subprocess.Popen(command) as proc:
        signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
        try:
            return proc.wait()
        except KeyboardInterrupt:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("app", help="try the detector in a browser page (needs facemask[app])")
    p.add_argument("--port", type=values.port, default=8501, help="port to serve on (default %(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s, loopback only)")
    p.set_defaults(func=run)
