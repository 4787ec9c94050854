"""Trusted test API: the demo API plus probes that run *inside* a locked-down worker.

Rule code cannot reach ``os``, ``socket`` or ``ctypes``; these trusted helpers can, which
lets the tests check the operating-system layer of a real worker (what an escaped rule
would face) and make a worker crash on purpose. Never use this module in the product.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
from typing import Any

from sandbox.demo_api import COLORS, TOLERANCE, violation, wrap_scene

__all__ = ["violation", "probe", "crash", "exit_now", "corrupt", "COLORS", "TOLERANCE"]

# The demo API's objects are read-only, so one wrapped scene may serve every rule: this
# module exercises the pool's shared-scene path (sandbox.demo_api exercises the other).
SCENE_IS_IMMUTABLE = True

_ = (wrap_scene,)


def _attempt(fn: Any) -> str:
    try:
        result = fn()
    except BaseException as exc:  # noqa: BLE001 - report whatever the kernel said
        return f"blocked: {type(exc).__name__}"
    return f"allowed: {result}"


def _fork() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def _connect() -> str:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(("1.1.1.1", 53))
    finally:
        s.close()
    return "connected"


def _interfaces() -> str:
    return ",".join(name for _, name in socket.if_nameindex())


def _open_write() -> str:
    with open("/tmp/sandbox-probe-write", "w") as f:
        f.write("x")
    return "written"


def _raise_nofile() -> str:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard + 100, hard + 100))
    return "raised"


PROBES = {
    "fork": _fork,
    "connect": _connect,
    "interfaces": _interfaces,
    "open_write": _open_write,
    "read_root": lambda: len(os.listdir("/root")),
    "raise_nofile": _raise_nofile,
    "uid": lambda: os.getuid(),
    "cwd_files": lambda: len(os.listdir(".")),
    "env": lambda: len(os.environ),
    "sees_etc": lambda: os.path.exists("/etc/passwd"),
}


def probe(what: str) -> str:
    """Try an operation inside the worker; ``allowed: ...`` or ``blocked: ErrorName``."""
    return _attempt(PROBES[what])


def crash() -> None:
    """Kill the worker with SIGSEGV, as a memory-corruption bug would."""
    os.kill(os.getpid(), signal.SIGSEGV)


def exit_now() -> None:
    """End the worker process without a word."""
    os._exit(0)


PROTOCOL_OUT_FD = 4  # the worker dups stdin to 3 and stdout to 4 before anything else


def corrupt() -> None:
    """Write garbage on the protocol pipe, as a compromised worker might."""
    os.write(PROTOCOL_OUT_FD, b"this is not json\n")
