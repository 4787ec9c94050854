"""A pool of sandbox workers: compile a rule pack once per worker, evaluate it over many scenes.

The parent never runs rule code. It checks rule sources with the policy (so problems come back
as ``policy`` errors without a round trip), sends each worker the pack once, splits the scenes
into batches, keeps every worker busy, enforces the wall-clock deadline, and validates every
result a worker sends. When a worker dies or is killed, the scene it was on is re-run one rule
at a time, so the faulting rule gets the error and the others their verdicts;
the rest of the batch is queued again.

Example:
    >>> with SandboxPool(api_module="sandbox.demo_api", workers=2) as pool:
    ...     pack = pool.load_pack({"always": RULE_SOURCE})
    ...     results = pool.evaluate(pack, [scene_dict])
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import logging
import math
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.errors import PolicyError, ProtocolError, SandboxError, WorkerStartError
from sandbox.limits import Limits
from sandbox.policy import compile_rule
from sandbox.results import error_result, result_from_wire
from sandbox.worker import BOOTSTRAP

log = logging.getLogger(__name__)

DEFAULT_API = "logicode.ruleapi"
MAX_BATCH = 256
MAX_RULE_ID = 200

Scene = Mapping[str, Any] | str | bytes
Result = dict[str, Any]


@dataclass
class _Pack:
    rule_ids: list[str]
    runnable: list[str]
    policy: dict[str, str]
    load_line: bytes


@dataclass
class _Job:
    scenes: list[int]
    rules: list[str] | None  # None: every runnable rule of the pack


@dataclass
class _Run:
    """State of one evaluate() call."""

    pack_id: str
    pack: _Pack
    scenes: Sequence[Scene]
    results: list[dict[str, Result]]
    jobs: deque[_Job] = field(default_factory=deque)


class _Worker:
    """Parent-side handle of one worker process."""

    def __init__(self, proc: subprocess.Popen[bytes], tmpdir: str, stderr_path: str) -> None:
        self.proc = proc
        self.tmpdir = tmpdir
        self.stderr_path = stderr_path
        self.in_fd = proc.stdin.fileno()  # type: ignore[union-attr]
        self.out_fd = proc.stdout.fileno()  # type: ignore[union-attr]
        self.outbuf = bytearray()
        self.inbuf = bytearray()
        self.ready = False
        self.info: dict[str, Any] = {}
        self.packs: set[str] = set()
        self.job: _Job | None = None
        self.job_rules: list[str] = []
        self.received = 0
        self.deadline = math.inf
        self.budget = 0.0
        self.killed_for: str | None = None
        self.fatal: str | None = None
        self.cpu = 0.0
        self.writing = False
        self.closed = False

    def stderr_tail(self) -> str:
        try:
            with open(self.stderr_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 2000))
                lines = f.read().decode("utf-8", "replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1].strip() if lines else ""


def _cleanup(workers: list[_Worker]) -> None:
    for w in workers:
        _stop(w, grace=0.0)


def _stop(w: _Worker, grace: float) -> None:
    if not w.closed:
        w.closed = True
        for f in (w.proc.stdin, w.proc.stdout):
            try:
                f.close()  # type: ignore[union-attr]
            except OSError:
                pass
    try:
        w.proc.wait(timeout=grace) if grace > 0 else None
    except subprocess.TimeoutExpired:
        pass
    if w.proc.poll() is None:
        try:
            w.proc.kill()
        except OSError:
            pass
        try:
            w.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("sandbox worker %d did not exit after SIGKILL", w.proc.pid)
    shutil.rmtree(w.tmpdir, ignore_errors=True)


def _api_paths(api_module: str) -> list[str]:
    """Folder that holds the API module's top-level package (for the worker's sys.path)."""
    top = api_module.split(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
        if spec is None:
            raise WorkerStartError(f"API module {api_module!r} not found; check the name")
        return []
    folder = os.path.dirname(os.path.abspath(spec.origin))
    if spec.submodule_search_locations:
        folder = os.path.dirname(folder)
    return [folder]


def _default_workers() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


class SandboxPool:
    """Persistent pool of sandboxed worker processes that run untrusted rule code.

    Use it as a context manager (workers start on entry and stop on exit). Calls are
    serialised with a lock; the pool is not meant to be shared between processes.

    Args:
        api_module: Dotted name of the trusted API module imported in each worker; its
            ``__all__`` names are given to rules and its ``wrap_scene(dict)`` builds the
            ``scene`` argument.
        workers: Number of worker processes (default: usable CPUs, at most 8).
        limits: Resource and output limits (default :class:`Limits`).
        batch_size: Scenes per round trip (default: balanced over workers, at most 256).
        python: Interpreter for the workers (default: this one).

    """

    def __init__(
        self,
        api_module: str = DEFAULT_API,
        workers: int | None = None,
        limits: Limits | None = None,
        batch_size: int | None = None,
        python: str | None = None,
    ) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.api_module = api_module
        self.size = workers or _default_workers()
        self.limits = limits or Limits()
        self.batch_size = batch_size
        self.python = python or sys.executable
        self._root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self._paths: list[str] | None = None
        self._workers: list[_Worker] = []
        self._packs: dict[str, _Pack] = {}
        self._ids = itertools.count(1)
        self._sel = selectors.DefaultSelector()
        self._lock = threading.RLock()
        self._closed = False
        self._run: _Run | None = None
        self._finalizer = weakref.finalize(self, _cleanup, self._workers)
        self.spawned = 0

    # --- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> SandboxPool:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the missing workers (returns at once; they report ready in the background)."""
        with self._lock:
            self._check_open()
            while len(self._workers) < self.size:
                self._spawn()

    def close(self) -> None:
        """Stop every worker and remove their temporary folders. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for w in list(self._workers):
                self._drop(w, grace=1.0)
            self._sel.close()
            self._finalizer.detach()

    def worker_info(self) -> list[dict[str, Any]]:
        """What each worker reported once ready: network, user, rlimits, process flags, API names.

        Starts the workers and waits for them to be ready.
        """
        with self._lock:
            self.start()
            deadline = time.monotonic() + self.limits.startup_timeout_s
            while not all(w.ready for w in self._workers):
                if time.monotonic() > deadline:
                    raise WorkerStartError("sandbox workers did not become ready in time")
                self._poll(min(0.1, max(0.0, deadline - time.monotonic())))
                while len(self._workers) < self.size:
                    self._spawn()
            return [dict(w.info) for w in self._workers]

    # --- packs ----------------------------------------------------------------------------

    def load_pack(self, rules: Mapping[str, str]) -> str:
        """Check and register a rule pack; workers compile it once, on first use.

        Rules that break the policy are kept: every evaluation reports them as ``policy``
        errors (use :func:`sandbox.compile_rule` to get the problems as text beforehand).

        Args:
            rules: Rule id -> rule source (``def check(scene): ...``).

        Returns:
            The pack id to pass to :meth:`evaluate`.

        """
        with self._lock:
            self._check_open()
            ids = list(rules)
            for rule_id in ids:
                if not isinstance(rule_id, str) or not rule_id or len(rule_id) > MAX_RULE_ID:
                    raise ValueError(
                        f"rule ids must be non-empty strings of at most {MAX_RULE_ID} "
                        f"characters, got {rule_id!r}"
                    )
            policy: dict[str, str] = {}
            sources: dict[str, str] = {}
            for rule_id in ids:
                try:
                    compile_rule(rules[rule_id], max_source_chars=self.limits.max_source_chars)
                    sources[rule_id] = rules[rule_id]
                except PolicyError as exc:
                    policy[rule_id] = str(exc)
            pack_id = f"pack{next(self._ids)}"
            line = json.dumps({"op": "load", "pack": pack_id, "rules": sources}) + "\n"
            self._packs[pack_id] = _Pack(ids, list(sources), policy, line.encode("ascii"))
            return pack_id

    def unload_pack(self, pack_id: str) -> None:
        """Forget a pack here and in the workers."""
        with self._lock:
            self._packs.pop(pack_id, None)
            line = (json.dumps({"op": "unload", "pack": pack_id}) + "\n").encode("ascii")
            for w in self._workers:
                if pack_id in w.packs:
                    w.packs.discard(pack_id)
                    self._write(w, line)

    # --- evaluation -----------------------------------------------------------------------

    def evaluate(self, pack_id: str, scenes: Sequence[Scene]) -> list[dict[str, Result]]:
        """Run every rule of a pack on every scene.

        Args:
            pack_id: From :meth:`load_pack`.
            scenes: Scene dicts or scene JSON texts (str or bytes).

        Returns:
            One dict per scene, in order: rule id -> result (see :mod:`sandbox.results`),
            rules in pack order. Every rule has a result on every scene.

        Raises:
            KeyError: If the pack is unknown.
            WorkerStartError: If workers cannot start (bad API module or interpreter).

        """
        with self._lock:
            self._check_open()
            pack = self._packs.get(pack_id)
            if pack is None:
                raise KeyError(f"unknown pack {pack_id!r}; load it with load_pack() first")
            n = len(scenes)
            results: list[dict[str, Result]] = [{} for _ in range(n)]
            for rule_id, message in pack.policy.items():
                for res in results:
                    res[rule_id] = error_result(rule_id, "policy", message)
            if pack.runnable and n:
                run = _Run(pack_id, pack, scenes, results)
                size = self.batch_size or max(1, min(MAX_BATCH, math.ceil(n / (self.size * 4))))
                for start in range(0, n, size):
                    run.jobs.append(_Job(list(range(start, min(n, start + size))), None))
                self._execute(run)
            return [{r: res[r] for r in pack.rule_ids} for res in results]

    def _execute(self, run: _Run) -> None:
        self._run = run
        try:
            self.start()
            while run.jobs or any(w.job is not None for w in self._workers):
                while len(self._workers) < self.size:
                    self._spawn()
                for w in self._workers:
                    if w.job is None and run.jobs and not w.closed:
                        self._dispatch(w, run.jobs.popleft())
                self._poll(self._timeout())
                self._check_deadlines()
        except BaseException:
            for w in list(self._workers):
                if w.job is not None:
                    self._drop(w, grace=0.0)
            raise
        finally:
            self._run = None

    def _dispatch(self, w: _Worker, job: _Job) -> None:
        run = self._run
        assert run is not None
        rules = job.rules or run.pack.runnable
        good: list[int] = []
        payloads: list[bytes] = []
        for idx in job.scenes:
            data = _encode(run.scenes[idx])
            if not isinstance(data, str) and len(data) > self.limits.max_scene_bytes:
                data = (
                    f"the scene has {len(data)} bytes; the limit is {self.limits.max_scene_bytes}"
                )
            if isinstance(data, str):
                for r in rules:
                    run.results[idx][r] = error_result(r, "input", data)
            else:
                good.append(idx)
                payloads.append(data)
        if not good:
            return
        job = _Job(good, job.rules)
        if run.pack_id not in w.packs:
            w.packs.add(run.pack_id)
            self._write(w, run.pack.load_line)
        header = {"op": "eval", "pack": run.pack_id, "rules": job.rules}
        header["lens"] = [len(p) for p in payloads]
        self._write(w, (json.dumps(header) + "\n").encode("ascii") + b"".join(payloads))
        w.job, w.job_rules, w.received = job, rules, 0
        w.budget = len(rules) * self.limits.wall_s + self.limits.kill_grace_s
        if w.ready:
            w.deadline = time.monotonic() + w.budget

    # --- event loop -----------------------------------------------------------------------

    def _timeout(self) -> float:
        deadline = min((w.deadline for w in self._workers), default=math.inf)
        return max(0.0, min(deadline - time.monotonic(), 1.0))

    def _poll(self, timeout: float) -> None:
        for key, events in self._sel.select(timeout):
            w, kind = key.data
            if w.closed:
                continue
            if kind == "r":
                self._on_readable(w)
            elif events & selectors.EVENT_WRITE:
                self._flush(w)

    def _write(self, w: _Worker, data: bytes) -> None:
        if w.closed:
            return
        w.outbuf += data
        self._flush(w)

    def _flush(self, w: _Worker) -> None:
        try:
            while w.outbuf:
                n = os.write(w.in_fd, w.outbuf[: 1 << 20])
                del w.outbuf[:n]
        except BlockingIOError:
            pass
        except OSError:
            w.outbuf.clear()  # the worker is gone; its EOF on stdout is handled on read
        want = bool(w.outbuf)
        if want != w.writing:
            if want:
                self._sel.register(w.in_fd, selectors.EVENT_WRITE, (w, "w"))
            else:
                self._sel.unregister(w.in_fd)
            w.writing = want

    def _on_readable(self, w: _Worker) -> None:
        try:
            data = os.read(w.out_fd, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._on_exit(w)
            return
        w.inbuf += data
        if b"\n" not in data:
            if len(w.inbuf) > self._max_line(w):
                self._on_protocol_error(w, "a message from the worker is too long")
            return
        *lines, rest = w.inbuf.split(b"\n")
        w.inbuf = bytearray(rest)
        for line in lines:
            if w.closed:
                return
            try:
                self._on_message(w, json.loads(line))
            except (
                ValueError,
                ProtocolError,
                KeyError,
                TypeError,
                IndexError,
                RecursionError,
            ) as exc:
                self._on_protocol_error(w, str(exc))
                return

    def _max_line(self, w: _Worker) -> int:
        lim = self.limits
        per_rule = lim.max_violations * (
            lim.max_message_chars * 6 + lim.max_evidence * (lim.max_id_chars * 6 + 3) + 16
        )
        return (1 << 20) + max(1, len(w.job_rules)) * per_rule

    def _on_message(self, w: _Worker, msg: Any) -> None:
        if type(msg) is not dict:
            raise ProtocolError("a worker message must be a JSON object")
        if "i" in msg:
            self._on_scene(w, msg)
        elif msg.get("done") is True:
            if w.job is None or w.received != len(w.job.scenes):
                raise ProtocolError("the worker finished a batch it was not given")
            w.job, w.job_rules, w.deadline = None, [], math.inf
            w.cpu = float(msg.get("cpu", 0.0))
            if w.cpu > self.limits.worker_cpu_s / 2:
                self._drop(w, grace=1.0)
        elif msg.get("ready") is True:
            if w.ready:
                raise ProtocolError("the worker reported ready twice")
            w.ready = True
            w.info = msg.get("info") if isinstance(msg.get("info"), dict) else {}
            net = str(w.info.get("network", ""))
            if not net.startswith("isolated"):
                log.warning("sandbox worker network: %s", net)
            w.deadline = time.monotonic() + w.budget if w.job is not None else math.inf
        elif "fatal" in msg:
            w.fatal = str(msg["fatal"])[:2000]
        else:
            raise ProtocolError("unknown worker message")

    def _on_scene(self, w: _Worker, msg: dict[str, Any]) -> None:
        run, job = self._run, w.job
        if run is None or job is None or msg["i"] != w.received:
            raise ProtocolError("the worker sent a result out of order")
        wires = msg["r"]
        rules = w.job_rules
        if type(wires) is not list or len(wires) != len(rules):
            raise ProtocolError("the worker sent the wrong number of results")
        idx = job.scenes[w.received]
        out = [result_from_wire(r, wire, self.limits) for r, wire in zip(rules, wires, strict=True)]
        res = run.results[idx]
        for r, result in zip(rules, out, strict=True):
            res[r] = result
        w.received += 1
        w.deadline = time.monotonic() + w.budget

    def _check_deadlines(self) -> None:
        now = time.monotonic()
        for w in list(self._workers):
            if w.deadline > now or w.closed:
                continue
            if not w.ready:
                self._drop(w, grace=0.0)
                raise WorkerStartError(
                    f"a sandbox worker did not start within {self.limits.startup_timeout_s:g} s"
                )
            w.killed_for = "timeout"
            try:
                w.proc.kill()
            except OSError:
                pass
            self._on_exit(w)

    def _on_protocol_error(self, w: _Worker, why: str) -> None:
        log.warning("sandbox worker %d sent an invalid message (%s); replacing it", w.proc.pid, why)
        w.killed_for = "protocol"
        w.fatal = f"the worker sent an invalid message ({why})"
        try:
            w.proc.kill()
        except OSError:
            pass
        self._on_exit(w)

    def _on_exit(self, w: _Worker) -> None:
        """A worker's output ended: reap it, then attribute its batch's unfinished scene."""
        try:
            code = w.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            w.proc.kill()
            code = w.proc.wait()
        job, ready, fatal = w.job, w.ready, w.fatal or w.stderr_tail()
        self._drop(w, grace=0.0)
        if not ready and w.killed_for is None:
            raise WorkerStartError(
                f"a sandbox worker exited during startup (code {code}): "
                f"{fatal or 'no message'}; check the API module {self.api_module!r}"
            )
        if job is None or self._run is None:
            return
        kind, message = self._fault_reason(w, code, fatal)
        log.info("sandbox worker %d stopped (%s: %s)", w.proc.pid, kind, message)
        remaining = job.scenes[w.received :]
        if not remaining:
            return
        culprit, rest = remaining[0], remaining[1:]
        if rest:
            self._run.jobs.appendleft(_Job(rest, job.rules))
        if len(w.job_rules) == 1:
            rule = w.job_rules[0]
            self._run.results[culprit][rule] = error_result(rule, kind, message)
        else:
            for rule in reversed(w.job_rules):
                self._run.jobs.appendleft(_Job([culprit], [rule]))

    def _fault_reason(self, w: _Worker, code: int, fatal: str) -> tuple[str, str]:
        if w.killed_for == "timeout":
            return (
                "timeout",
                f"the rule did not finish within {self.limits.wall_s:g} s; its worker was killed",
            )
        if w.killed_for == "protocol":
            return ("crash", fatal)
        if code < 0:
            sig = -code
            name = _signal_name(sig)
            if sig == getattr(signal, "SIGXCPU", -1):
                return ("timeout", f"the rule used more than {self.limits.cpu_s:g} s of CPU time")
            if sig == signal.SIGKILL:
                return (
                    "memory",
                    "the worker was killed by the system (SIGKILL), likely for memory",
                )
            return ("crash", f"the worker crashed ({name}) while running the rule")
        detail = f": {fatal}" if fatal else ""
        return ("crash", f"the worker exited unexpectedly (code {code}){detail}")

    # --- workers --------------------------------------------------------------------------

    def _spawn(self) -> _Worker:
        if self._paths is None:
            self._paths = _api_paths(self.api_module)
        tmpdir = tempfile.mkdtemp(prefix="sandbox-worker-")
        cwd = os.path.join(tmpdir, "cwd")
        os.mkdir(cwd, 0o700)
        stderr_path = os.path.join(tmpdir, "stderr.log")
        with open(stderr_path, "wb") as err:
            try:
                proc = subprocess.Popen(
                    [self.python, "-I", "-B", "-c", BOOTSTRAP, self._root],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=err,
                    cwd=cwd,
                    env={},
                    close_fds=True,
                    start_new_session=True,
                )
            except OSError as exc:
                shutil.rmtree(tmpdir, ignore_errors=True)
                raise WorkerStartError(f"cannot start {self.python!r}: {exc}") from None
        w = _Worker(proc, tmpdir, stderr_path)
        os.set_blocking(w.in_fd, False)
        os.set_blocking(w.out_fd, False)
        self._sel.register(w.out_fd, selectors.EVENT_READ, (w, "r"))
        self._workers.append(w)
        self.spawned += 1
        w.deadline = time.monotonic() + self.limits.startup_timeout_s
        init = {
            "api": self.api_module,
            "limits": self.limits.to_dict(),
            "paths": self._paths,
            "parent": os.getpid(),
        }
        self._write(w, (json.dumps(init) + "\n").encode("ascii"))
        return w

    def _drop(self, w: _Worker, grace: float) -> None:
        if w in self._workers:
            self._workers.remove(w)
        for fd in (w.out_fd, w.in_fd):
            try:
                self._sel.unregister(fd)
            except (KeyError, ValueError):
                pass
        w.writing = False
        _stop(w, grace)

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxError("this SandboxPool is closed; create a new one")


def _encode(scene: Scene) -> bytes | str:
    """Scene as JSON bytes, or a one-line reason why it cannot be sent."""
    if isinstance(scene, bytes):
        return scene
    if isinstance(scene, str):
        return scene.encode("utf-8", "surrogatepass")
    if isinstance(scene, Mapping):
        try:
            return json.dumps(scene, separators=(",", ":")).encode("utf-8", "surrogatepass")
        except (TypeError, ValueError, RecursionError) as exc:
            return f"the scene cannot be written as JSON: {exc}"
    return f"a scene must be a dict or JSON text, got {type(scene).__name__}"


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def run_rules(
    rules: Mapping[str, str],
    scenes: Sequence[Scene],
    *,
    api_module: str = DEFAULT_API,
    workers: int | None = None,
    limits: Limits | None = None,
) -> list[dict[str, Result]]:
    """One-shot convenience: start a pool, evaluate ``rules`` on ``scenes``, stop the pool.

    Args:
        rules: Rule id -> source.
        scenes: Scene dicts or JSON texts.
        api_module: See :class:`SandboxPool`.
        workers: See :class:`SandboxPool` (default: no more than the scenes need).
        limits: See :class:`SandboxPool`.

    Returns:
        As :meth:`SandboxPool.evaluate`.

    """
    n = workers or max(1, min(_default_workers(), len(scenes)))
    with SandboxPool(api_module=api_module, workers=n, limits=limits) as pool:
        return pool.evaluate(pool.load_pack(rules), scenes)
