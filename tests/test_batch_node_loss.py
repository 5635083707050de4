"""A Ray node lost mid-batch (issue 31): on a real two-node cluster on this machine, the second node's raylet
is SIGKILLed (by its pid: `ray stop` would stop both nodes, and any other Ray of this machine) while one of
its workers is mid-file. That file runs again on the node left, and the report lists every file, ok.

The cluster is this module's own: a private temp dir, free ports, a token of its own, and each `ray start`
in a process group of its own, so the end kills exactly the processes it started.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import HEADLESS, REPO, facemask_argv
from video_fixtures import write_video

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
CLIPS = 4  # two a node
FRAMES = 240  # long enough (seconds a file) that the lost node's worker is still mid-file when its raylet dies: with
# 30 frames a worker could finish and commit its file in the moment before it noticed, and the report named that node
RAY_START_S = 120
NODE_PORTS = ("node-manager", "object-manager", "dashboard-agent-listen", "dashboard-agent-grpc", "runtime-env-agent")


@dataclass(frozen=True)
class Cluster:
    address: str
    env: dict[str, str]
    head_node: str  # Ray node ids
    lost_node: str
    lost_raylet: int  # the pid killed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ports() -> list[str]:
    return [arg for name in NODE_PORTS for arg in (f"--{name}-port", str(_free_port()))]


def _ray_start(env: dict[str, str], temp: Path, *args: str) -> int:
    """`ray start ARGS` in a process group of its own, which its daemons keep; that group's id."""
    ray = Path(sys.executable).with_name("ray")
    argv = [str(ray), "start", "--num-cpus", "1", "--temp-dir", str(temp), "--disable-usage-stats", *args]
    proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    out, _ = proc.communicate(timeout=RAY_START_S)
    if proc.returncode != 0:
        _kill_groups(proc.pid)
        pytest.fail(f"ray start {' '.join(args[:2])} failed: {out.decode(errors='replace')[-1500:]}")
    return proc.pid


def _raylet(group: int) -> tuple[int, str]:
    """The pid and node id of the raylet in a `ray start`'s process group."""
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
            in_group = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[2]) == group
        except (OSError, ValueError, IndexError):
            continue
        if in_group and argv[0].endswith("/raylet"):
            return int(proc.name), next(a.split("=", 1)[1] for a in argv if a.startswith("--node_id="))
    raise AssertionError(f"no raylet in process group {group}")


def _kill_groups(*groups: int) -> None:
    """SIGTERM to every process of these groups, and a second later SIGKILL to any still there."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, sig)
        time.sleep(1 if sig == signal.SIGTERM else 0)


@pytest.fixture(scope="module")
def two_nodes() -> Cluster:
    pytest.importorskip("ray", reason="Ray is in the test extra: pip install -e '.[test]'")
    temp = Path(tempfile.mkdtemp(prefix="fmray", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    path = os.pathsep.join(filter(None, [str(REPO), HEADLESS.get("PYTHONPATH")]))
    env = HEADLESS | {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16), "PYTHONPATH": path}
    port, groups = _free_port(), []
    try:
        head = ["--head", "--port", str(port), "--include-dashboard=false", "--dashboard-port", str(_free_port())]
        groups.append(_ray_start(env, temp, *head, "--ray-client-server-port", str(_free_port()), *_ports()))
        groups.append(_ray_start(env, temp, "--address", f"127.0.0.1:{port}", *_ports()))
        (_, head_node), (lost_raylet, lost_node) = map(_raylet, groups)
        yield Cluster(f"127.0.0.1:{port}", env, head_node, lost_node, lost_raylet)
    finally:
        _kill_groups(*groups)
        shutil.rmtree(temp, ignore_errors=True)


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _lost_nodes_partial(out: Path, raylet: int) -> str | None:
    """A partial file (`NAME.partial-<pid>-<hex>.ext`) being written by a worker of the raylet's node."""
    for path in out.glob("*.partial-*"):
        pid = path.name.split(".partial-", 1)[1].split("-", 1)[0]
        if pid.isdigit() and _parent(int(pid)) == raylet:
            return path.name
    return None


def test_a_lost_nodes_files_run_again_on_the_node_left(two_nodes, tmp_path):
    videos, out = tmp_path / "videos", tmp_path / "out"
    videos.mkdir()
    for i in range(CLIPS):
        write_video(videos / f"c{i}.mp4", frames=FRAMES, size=(160, 120))
    argv = facemask_argv("batch", videos, "--output", out, "--ray-address", two_nodes.address)
    driver = subprocess.Popen(argv, cwd=REPO, env=two_nodes.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline, partial = time.monotonic() + 90, None
        while partial is None:
            assert driver.poll() is None, "the batch ended before the node was lost: " + driver.stderr.read().decode()
            assert time.monotonic() < deadline, "no worker of the second node started a file in 90 s"
            partial = _lost_nodes_partial(out, two_nodes.lost_raylet) if out.is_dir() else None
            time.sleep(0.02)
        os.kill(two_nodes.lost_raylet, signal.SIGKILL)  # the node is gone, mid-file
        stdout, stderr = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert driver.returncode == 0, stderr.decode()[-3000:]
    rows = json.loads((out / "report.json").read_text())["files"]
    assert {row["name"]: (row["status"], row["frames"]) for row in rows} == {
        f"c{i}": ("ok", FRAMES) for i in range(CLIPS)
    }, rows
    lost = partial.split(".partial-")[0].split(".")[0]  # c1 of c1.partial-... or c1.events.partial-...
    by_name = {row["name"]: row for row in rows}
    assert by_name[lost]["node"].endswith("/" + two_nodes.head_node[:8]), (lost, rows)  # re-run on the survivor
    for i in range(CLIPS):
        assert len((out / f"c{i}.jsonl").read_text().splitlines()) == FRAMES
    assert sorted(p.name for p in out.iterdir() if ".partial-" in p.name) == []
    table = list(csv.DictReader((out / "report.csv").open()))
    assert [(r["name"], r["status"]) for r in table[:-1]] == [(f"c{i}", "ok") for i in range(CLIPS)]
    assert (table[-1]["file"], table[-1]["status"]) == ("total", f"{CLIPS} ok, 0 failed")
    assert f"{CLIPS} of {CLIPS} videos ok" in stdout.decode()
