"""Resource limits: the :class:`Limits` settings and the operating-system lockdown of a worker.

The parent only builds and sends :class:`Limits`; the ``lock_*`` functions run inside a worker
process, after its trusted imports and before any rule code, and each returns a short text
saying what it did (collected in the worker's ``info``). Everything here is Linux-first:
functions that the platform does not offer are skipped and reported, never faked.
"""

from __future__ import annotations

import math
import os
import resource
import signal
import sys
from dataclasses import asdict, dataclass, fields
from typing import Any

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
NOBODY_UID = 65534


@dataclass(frozen=True)
class Limits:
    """What one rule, one worker and one result may use.

    Attributes:
        wall_s: Wall-clock seconds for one rule on one scene. The worker's own timer stops the
            rule with a ``timeout`` error; if that fails the parent kills the worker after
            ``wall_s + kill_grace_s`` (for the whole pack on one scene: times the rule count).
        cpu_s: CPU seconds for one rule on one scene, enforced with ``RLIMIT_CPU`` (whole
            seconds, moved before each scene to time used + rules x ``cpu_s``).
        memory_mb: Address space of a worker in MiB (``RLIMIT_AS``); beyond it allocations
            fail with a ``memory`` error.
        kill_grace_s: Extra seconds the parent waits before it kills a silent worker.
        worker_cpu_s: Lifetime CPU seconds of one worker (hard ``RLIMIT_CPU``); the pool
            replaces a worker that has used half of it.
        max_violations: Most violations one rule may return for one scene.
        max_message_chars: Longest violation message.
        max_evidence: Most evidence ids in one violation.
        max_id_chars: Longest evidence id.
        max_int_bits: Largest integer that ``**``, ``*`` and ``<<`` may build, in bits.
        max_sequence: Longest string, list or tuple that ``*`` may build.
        int_max_str_digits: Longest int <-> str conversion (``sys.set_int_max_str_digits``).
        recursion_limit: Python frames available to rule code.
        max_source_chars: Longest rule source.
        max_scene_bytes: Largest scene JSON text.
        file_size_bytes: Largest file a worker may write (``RLIMIT_FSIZE``; only its stderr).
        startup_timeout_s: Seconds a new worker has to report that it is ready.
        isolate_network: Put each worker in a new, empty network namespace where allowed.
        confine_files: ``chroot`` each worker into its empty working directory where allowed.
        drop_privileges: When started as root, switch workers to the ``nobody`` user.

    """

    wall_s: float = 2.0
    cpu_s: float = 2.0
    memory_mb: int = 512
    kill_grace_s: float = 1.0
    worker_cpu_s: int = 3600
    max_violations: int = 100
    max_message_chars: int = 1000
    max_evidence: int = 50
    max_id_chars: int = 100
    max_int_bits: int = 100_000
    max_sequence: int = 10_000_000
    int_max_str_digits: int = 4300
    recursion_limit: int = 200
    max_source_chars: int = 50_000
    max_scene_bytes: int = 16 * 1024 * 1024
    file_size_bytes: int = 1024 * 1024
    startup_timeout_s: float = 30.0
    isolate_network: bool = True
    confine_files: bool = True
    drop_privileges: bool = True

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                continue
            if not isinstance(value, (int, float)) or not value > 0 or value != value:
                raise ValueError(f"Limits.{f.name} must be a positive number, got {value!r}")
        if self.int_max_str_digits < 640:
            raise ValueError(
                f"Limits.int_max_str_digits must be >= 640 (Python's minimum), "
                f"got {self.int_max_str_digits}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for the worker protocol."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Limits:
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# --- lockdown, run inside the worker -------------------------------------------------------


def preload() -> None:
    """Import what the lock functions need, while every file is still readable.

    After :func:`lock_user` root-only folders are closed and after :func:`lock_resources` no
    file can be opened, so later imports would fail.
    """
    import ctypes  # noqa: F401


def _libc() -> Any:
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def lock_network(enabled: bool = True) -> str:
    """Move the process into a new, empty network namespace (Linux only).

    Root (or ``CAP_SYS_ADMIN``) can ``unshare(CLONE_NEWNET)`` directly; other users try a new
    user namespace together with it (unprivileged user namespaces may be disabled). Must run
    before the process starts threads. The new namespace holds only a loopback device that is
    down, so no address, local or remote, can be reached.

    Returns:
        What was done, e.g. ``"isolated: new network namespace"`` or ``"not isolated: ..."``.

    """
    if not enabled:
        return "not isolated: disabled by Limits.isolate_network"
    if not sys.platform.startswith("linux"):
        return f"not isolated: network namespaces need Linux, this is {sys.platform}"
    try:
        import ctypes

        libc = _libc()
    except (OSError, ImportError) as exc:
        return f"not isolated: cannot load libc ({exc})"
    attempts = [(CLONE_NEWNET, "new network namespace")]
    if os.geteuid() != 0:
        attempts.append((CLONE_NEWUSER | CLONE_NEWNET, "new user and network namespaces"))
    errors = []
    for flags, what in attempts:
        if libc.unshare(flags) == 0:
            return f"isolated: {what}"
        errors.append(os.strerror(ctypes.get_errno()))
    return "not isolated: unshare failed (" + "; ".join(errors) + ")"


def nobody_ids() -> tuple[int, int]:
    """(uid, gid) of the ``nobody`` user, or 65534 for both if it cannot be looked up."""
    try:
        import pwd

        entry = pwd.getpwnam("nobody")
        return entry.pw_uid, entry.pw_gid
    except (ImportError, KeyError, OSError):
        return NOBODY_UID, NOBODY_UID


def lock_filesystem(enabled: bool = True) -> str:
    """Make the (empty) working directory the root of the file system: ``chroot(".")``.

    Needs root or the user namespace made by :func:`lock_network`; run it after every import
    (nothing outside the new root can be read afterwards, not even Python's own files) and
    before :func:`lock_user`.

    Returns:
        What was done, e.g. ``"confined: chroot to the empty working directory"``.

    """
    if not enabled:
        return "not confined: disabled by Limits.confine_files"
    if not hasattr(os, "chroot"):
        return "not confined: no chroot on this platform"
    try:
        os.chroot(".")
        os.chdir("/")
    except OSError as exc:
        return f"not confined: chroot failed ({exc.strerror})"
    return "confined: chroot to the empty working directory"


def lock_user(enabled: bool = True, ids: tuple[int, int] | None = None) -> str:
    """If running as root, switch to the ``nobody`` user and drop supplementary groups.

    Args:
        enabled: False keeps root (reported).
        ids: (uid, gid) to switch to; default :func:`nobody_ids` (look it up before
            :func:`lock_filesystem`, which hides ``/etc/passwd``).

    Returns:
        What was done, e.g. ``"uid 65534 gid 65534 (dropped from root)"``.

    """
    if not hasattr(os, "setuid"):
        return "unchanged: no setuid on this platform"
    if os.geteuid() != 0:
        return f"uid {os.geteuid()} (not root, unchanged)"
    if not enabled:
        return "uid 0: still root, Limits.drop_privileges is off"
    uid, gid = ids or nobody_ids()
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    if os.geteuid() == 0 or os.getegid() == 0:
        raise OSError("could not drop root privileges")
    return f"uid {uid} gid {gid} (dropped from root)"


def _open_fds() -> list[int]:
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return [0, 1, 2]
    fds = []
    for name in names:
        if name.isdigit():
            fd = int(name)
            try:
                os.fstat(fd)
            except OSError:
                continue
            fds.append(fd)
    return fds or [0, 1, 2]


def lock_resources(limits: Limits) -> dict[str, str]:
    """Set hard resource limits on the current process with ``setrlimit``.

    Address space (``RLIMIT_AS``), CPU (``RLIMIT_CPU``: soft ``cpu_s``, hard ``worker_cpu_s``),
    open files (``RLIMIT_NOFILE``: none beyond those already open), processes and threads
    (``RLIMIT_NPROC`` 0, not enforced for root), written file size (``RLIMIT_FSIZE``; SIGXFSZ
    is ignored so writes fail instead) and core dumps (``RLIMIT_CORE`` 0).

    Returns:
        Limit name -> value set, or why it could not be set.

    """
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    used = math.ceil(os.times().user + os.times().system)
    wanted = {
        "RLIMIT_AS": (limits.memory_mb * 1024 * 1024,) * 2,
        "RLIMIT_CPU": (
            min(used + math.ceil(limits.cpu_s) + 1, limits.worker_cpu_s),
            limits.worker_cpu_s,
        ),
        "RLIMIT_NOFILE": (max(_open_fds()) + 1,) * 2,
        "RLIMIT_NPROC": (0, 0),
        "RLIMIT_FSIZE": (limits.file_size_bytes,) * 2,
        "RLIMIT_CORE": (0, 0),
    }
    done: dict[str, str] = {}
    for name, (soft, hard) in wanted.items():
        which = getattr(resource, name, None)
        if which is None:
            done[name] = "not available on this platform"
            continue
        try:
            resource.setrlimit(which, (soft, hard))
            done[name] = str(soft) if soft == hard else f"{soft}/{hard}"
        except (ValueError, OSError) as exc:
            done[name] = f"not set ({exc})"
    return done


def lock_process(parent_pid: int) -> str:
    """Set process flags: no new privileges, not dumpable, killed when the parent dies.

    Run after :func:`lock_user` (changing uid clears the parent-death signal).

    Returns:
        The flags that were set.

    """
    if not sys.platform.startswith("linux"):
        return "no process flags on this platform"
    try:
        libc = _libc()
    except (OSError, ImportError) as exc:
        return f"no process flags ({exc})"
    done = []
    for option, value, what in (
        (PR_SET_NO_NEW_PRIVS, 1, "no_new_privs"),
        (PR_SET_DUMPABLE, 0, "not dumpable"),
        (PR_SET_PDEATHSIG, int(signal.SIGKILL), "killed with its parent"),
    ):
        if libc.prctl(option, value, 0, 0, 0) == 0:
            done.append(what)
    if os.getppid() != parent_pid:
        os._exit(70)
    return ", ".join(done) or "none"


def set_cpu_budget(limits: Limits, seconds: float, current: int | None) -> int:
    """Move the soft CPU limit to the CPU time used so far plus ``seconds`` (rounded up).

    Called by the worker before each scene; no system call when the value does not change.

    Args:
        limits: The worker's limits (``worker_cpu_s`` caps the result).
        seconds: CPU budget from now on.
        current: The soft limit set last time, or None.

    Returns:
        The soft limit now in force.

    """
    t = os.times()
    soft = min(math.ceil(t.user + t.system + seconds) + 1, limits.worker_cpu_s)
    if soft != current:
        try:
            resource.setrlimit(resource.RLIMIT_CPU, (soft, limits.worker_cpu_s))
        except (ValueError, OSError):
            return current if current is not None else soft
    return soft
