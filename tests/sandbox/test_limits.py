"""Limits settings and the operating-system lockdown, each checked in a throwaway process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sandbox.limits import Limits

ROOT = Path(__file__).resolve().parents[2]
LINUX = sys.platform.startswith("linux")


def test_limits_validate_and_round_trip() -> None:
    limits = Limits(wall_s=0.5, memory_mb=256)
    assert Limits.from_dict({**limits.to_dict(), "unknown": 1}) == limits
    with pytest.raises(ValueError, match="Limits.wall_s must be a positive number"):
        Limits(wall_s=0)
    with pytest.raises(ValueError, match="memory_mb"):
        Limits(memory_mb=-1)
    with pytest.raises(ValueError, match="int_max_str_digits"):
        Limits(int_max_str_digits=10)


def run_locked(code: str, cwd: Path = ROOT) -> dict:
    """Run code in a fresh interpreter after `prelude`; it prints one JSON object."""
    script = textwrap.dedent(code)
    proc = subprocess.run(
        [sys.executable, "-I", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(cwd),
        env={},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


PRELUDE = f"""
import json, os, resource, socket, sys
sys.path.insert(0, {str(ROOT)!r})
from sandbox.limits import (
    Limits, lock_filesystem, lock_network, lock_process, lock_resources, lock_user, nobody_ids,
    preload,
)
preload()
def attempt(fn):
    try:
        fn()
    except BaseException as exc:
        return type(exc).__name__
    return "allowed"
"""


@pytest.mark.skipif(not LINUX, reason="network namespaces are Linux-only")
def test_network_lock_leaves_only_a_downed_loopback() -> None:
    out = run_locked(
        PRELUDE
        + """
def connect():
    s = socket.socket()
    s.settimeout(2)
    s.connect(("1.1.1.1", 53))
status = lock_network(True)
names = [n for _, n in socket.if_nameindex()]
print(json.dumps({"status": status, "names": names, "connect": attempt(connect)}))
"""
    )
    if not out["status"].startswith("isolated"):
        pytest.skip(f"this machine does not allow network namespaces: {out['status']}")
    assert out["names"] == ["lo"]
    assert out["connect"] in ("OSError", "TimeoutError", "ConnectionRefusedError")
    assert run_locked(PRELUDE + "print(json.dumps({'s': lock_network(False)}))")["s"].startswith(
        "not isolated: disabled"
    )


@pytest.mark.skipif(not LINUX, reason="resource limits are checked on Linux")
def test_resource_limits_block_files_processes_and_memory() -> None:
    out = run_locked(
        PRELUDE
        + """
def fork():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
def big():
    return bytearray(600 * 1024 * 1024)
user = lock_user(True)
done = lock_resources(Limits(memory_mb=256, file_size_bytes=4096))
flags = lock_process(os.getppid())
print(json.dumps({
    "user": user, "uid": os.getuid(), "done": done, "flags": flags,
    "open": attempt(lambda: open("/dev/null")),
    "fork": attempt(fork),
    "big": attempt(big),
    "raise": attempt(lambda: resource.setrlimit(resource.RLIMIT_AS, (-1, -1))),
}))
"""
    )
    assert out["done"]["RLIMIT_AS"] == str(256 * 1024 * 1024)
    assert out["done"]["RLIMIT_CORE"] == "0"
    assert out["open"] == "OSError"  # no file descriptor left
    assert out["big"] == "MemoryError"
    assert out["raise"] in ("ValueError", "OSError", "PermissionError")
    assert "no_new_privs" in out["flags"] and "killed with its parent" in out["flags"]
    if os.geteuid() == 0:
        assert out["uid"] != 0 and "dropped from root" in out["user"]
        assert out["fork"] in ("BlockingIOError", "OSError", "PermissionError")
    else:
        assert "not root" in out["user"]


@pytest.mark.skipif(not LINUX, reason="chroot confinement is checked on Linux")
def test_filesystem_lock_leaves_only_the_empty_working_folder(tmp_path: Path) -> None:
    out = run_locked(
        PRELUDE
        + """
ids = nobody_ids()
net = lock_network(True)
status = lock_filesystem(True)
root = os.listdir("/")
user = lock_user(True, ids)
print(json.dumps({
    "status": status, "net": net, "user": user,
    "root": root, "etc": os.path.exists("/etc/passwd"),
    "python": os.path.exists(sys.executable),
}))
""",
        cwd=tmp_path,
    )
    if not out["status"].startswith("confined"):
        pytest.skip(f"this machine does not allow chroot here: {out['status']}")
    assert out["root"] == [] and out["etc"] is False and out["python"] is False
    assert run_locked(PRELUDE + "print(json.dumps({'s': lock_filesystem(False)}))")["s"].startswith(
        "not confined: disabled"
    )
