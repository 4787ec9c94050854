"""Worker process: runs rule code for the pool, one request at a time, over two pipes.

Started by :class:`sandbox.pool.SandboxPool` as ``python -I -B -c BOOTSTRAP <root>`` with an
empty environment, a fresh empty working directory and no inherited file descriptors. It
then, before any rule code exists in the process:

1. moves the protocol pipes away from fds 0 and 1 (stray prints go to the stderr file);
2. reads the ``init`` message (API module name, :class:`~sandbox.limits.Limits`, parent pid);
3. leaves the network (:func:`~sandbox.limits.lock_network`), imports the trusted API module
   and builds the rule globals, then locks itself in :mod:`sandbox.limits` order: resource
   limits, ``chroot`` into its empty working directory, drop root, process flags; last the
   recursion limit and ``sys.set_int_max_str_digits``;
4. answers ``{"ready": true, "info": {...}}`` and serves requests until its input closes.

Protocol (JSON, one object per line, ASCII):

* parent -> worker: ``{"op": "load", "pack": id, "rules": {rule_id: source}}``;
  ``{"op": "unload", "pack": id}``; ``{"op": "eval", "pack": id, "rules": [ids] | null,
  "lens": [n, ...]}`` followed by the scenes' JSON bytes back to back (lengths in ``lens``).
* worker -> parent: per scene ``{"i": k, "r": [result, ...]}`` (results in rule order, written
  as soon as the scene is done), then ``{"done": true, "cpu": seconds}``. A result is
  ``["p"]`` (pass), ``["f", [[message, [ids]], ...]]`` (fail) or ``["e", kind, message]``.
  ``{"fatal": message}`` precedes an exit on a startup or protocol failure.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import reprlib
import signal
import sys
from collections.abc import Callable
from types import CodeType, MappingProxyType, TracebackType
from typing import Any, BinaryIO

from sandbox.errors import PolicyError
from sandbox.guards import SizeLimitError, api_exports, rule_globals, safe_builtins
from sandbox.limits import (
    Limits,
    lock_filesystem,
    lock_network,
    lock_process,
    lock_resources,
    lock_user,
    nobody_ids,
    preload,
    set_cpu_budget,
)
from sandbox.policy import RULE_FILENAME, compile_rule

BOOTSTRAP = "import sys; sys.path.append(sys.argv[1]); from sandbox.worker import main; main()"
"""Code the pool passes to ``python -I -c``; argv[1] is the folder that holds ``sandbox``."""

EXIT_FATAL = 2
MAX_ERROR_CHARS = 300

Wire = list[Any]
_PASS: Wire = ["p"]


class RuleTimeout(BaseException):
    """Raised inside rule code by the wall-clock or CPU timer (not catchable by rules)."""


class _Timer:
    """One-shot timers that interrupt the rule running now, and only a rule."""

    def __init__(self, wall_s: float, cpu_s: float) -> None:
        self.active = False
        self.wall_s = wall_s
        self.cpu_s = cpu_s

    def arm(self) -> None:
        """Start the wall-clock budget of one rule (replacing any pending alarm)."""
        self.active = True
        signal.setitimer(signal.ITIMER_REAL, self.wall_s)

    def pause(self) -> None:
        """Stop interrupting; a pending alarm is ignored until the next :meth:`arm`."""
        self.active = False

    def disarm(self) -> None:
        """Stop interrupting and cancel the alarm (end of a scene)."""
        self.active = False
        signal.setitimer(signal.ITIMER_REAL, 0)

    def on_signal(self, signum: int, frame: Any) -> None:
        if not self.active:
            return
        self.active = False
        if signum == signal.SIGALRM:
            raise RuleTimeout(f"the rule ran longer than {self.wall_s:g} s (wall clock)")
        raise RuleTimeout(f"the rule used more than its {self.cpu_s:g} s of CPU time")


_REPR = reprlib.Repr()
_REPR.maxstring = 120
_REPR.maxother = 120
_REPR.maxlevel = 3


def one_line(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """Collapse whitespace runs with line breaks and cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(exc: BaseException) -> str:
    """``Name: message`` of an exception, bounded in size and time."""
    name = type(exc).__name__
    args = exc.args
    try:
        if not args:
            text = ""
        elif len(args) == 1 and type(args[0]) is str and not isinstance(exc, KeyError):
            text = args[0][: MAX_ERROR_CHARS * 2]
        else:
            text = _REPR.repr(args[0] if len(args) == 1 else args)
    except Exception:
        text = "(unprintable)"
    return one_line(f"{name}: {text}" if text else name)


def rule_line(tb: TracebackType | None) -> int | None:
    """Line of the innermost rule frame in a traceback, if any."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == RULE_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _frozen_tuple(items: list[Any]) -> tuple[Any, ...]:
    return tuple(_frozen_tuple(v) if type(v) is list else v for v in items)


def _freeze_object(obj: dict[str, Any]) -> MappingProxyType[str, Any]:
    for key, value in obj.items():
        if type(value) is list:
            obj[key] = _frozen_tuple(value)
    return MappingProxyType(obj)


def decode_scene(raw: bytes) -> Any:
    """Decode scene JSON into read-only data: objects become mapping proxies, arrays tuples.

    The result is decoded once per scene and handed to ``wrap_scene`` for every rule; being
    immutable, nothing one rule does to it can be seen by the next.
    """
    data = json.loads(raw, object_hook=_freeze_object)
    return _frozen_tuple(data) if type(data) is list else data


def _type_name(value: Any) -> str:
    return "None" if value is None else type(value).__name__


class Evaluator:
    """Holds compiled packs and runs rules on scenes (the part of the worker that tests use).

    Each scene's JSON is decoded once. By default the decoded data is frozen (mapping proxies
    and tuples) and ``wrap_scene`` is called again for every rule, so rules cannot share
    state even through a careless API. An API module that sets ``SCENE_IS_IMMUTABLE = True``
    promises that ``wrap_scene`` copies its input and returns objects that rule code cannot
    change; then the scene is decoded plainly and wrapped once for all rules of that scene.

    Args:
        api: The imported trusted API module (``__all__`` and ``wrap_scene``).
        limits: The limits to apply to results and operators.

    """

    def __init__(self, api: Any, limits: Limits) -> None:
        self.limits = limits
        self.exports = api_exports(api)
        self.wrap_scene: Callable[[Any], Any] = api.wrap_scene
        self.share_scene = getattr(api, "SCENE_IS_IMMUTABLE", False) is True
        builtins = safe_builtins(limits.max_int_bits, limits.max_sequence)
        self.template = rule_globals(builtins, self.exports)
        self.packs: dict[str, dict[str, CodeType | str]] = {}
        self.timer = _Timer(limits.wall_s, limits.cpu_s)
        self.cpu_soft: int | None = None
        self.limit_cpu = False

    # --- packs ---------------------------------------------------------------------------

    def load(self, pack_id: str, rules: dict[str, str]) -> dict[str, str]:
        """Compile a pack; returns rule id -> policy message for the rules that failed."""
        compiled: dict[str, CodeType | str] = {}
        for rule_id, source in rules.items():
            try:
                compiled[rule_id] = compile_rule(
                    source, max_source_chars=self.limits.max_source_chars
                ).code
            except PolicyError as exc:
                compiled[rule_id] = one_line(str(exc), 2000)
        self.packs[pack_id] = compiled
        return {k: v for k, v in compiled.items() if isinstance(v, str)}

    # --- evaluation ----------------------------------------------------------------------

    def evaluate(
        self,
        pack_id: str,
        rule_ids: list[str] | None,
        scenes: list[bytes],
        emit: Callable[[dict[str, Any]], None],
    ) -> None:
        """Run the pack's rules (or ``rule_ids``, in that order) on each scene; emit results."""
        pack = self.packs.get(pack_id)
        if pack is None:
            missing: Wire = ["e", "crash", f"pack {pack_id!r} is not loaded in this worker"]
            n = len(rule_ids or [])
            for i in range(len(scenes)):
                emit({"i": i, "r": [missing] * n})
            return
        ids = list(pack) if rule_ids is None else rule_ids
        rules = [(r, pack.get(r, f"rule {r!r} is not in pack {pack_id!r}")) for r in ids]
        for i, raw in enumerate(scenes):
            if self.limit_cpu:
                self.cpu_soft = set_cpu_budget(
                    self.limits, len(rules) * self.limits.cpu_s, self.cpu_soft
                )
            results = self.run_scene(raw, rules)
            self.timer.disarm()
            emit({"i": i, "r": results})

    def run_scene(self, raw: bytes, rules: list[tuple[str, CodeType | str]]) -> list[Wire]:
        """Results of every rule on one scene (JSON bytes), in order."""
        if len(raw) > self.limits.max_scene_bytes:
            err: Wire = [
                "e",
                "input",
                f"the scene has {len(raw)} bytes; the limit is {self.limits.max_scene_bytes}",
            ]
            return [err] * len(rules)
        try:
            data = json.loads(raw) if self.share_scene else decode_scene(raw)
        except (ValueError, RecursionError) as exc:
            return [["e", "input", one_line(f"the scene is not valid JSON: {exc}")]] * len(rules)
        except MemoryError:
            return [["e", "input", "the scene is too large to decode"]] * len(rules)
        if type(data) is not MappingProxyType and type(data) is not dict:
            msg = f"the scene must be a JSON object, got {_type_name(data)}"
            return [["e", "input", msg]] * len(rules)
        if not self.share_scene:
            return [self.run_rule(code, data) for _, code in rules]
        scene = self.wrap_once(data)
        if isinstance(scene, list):
            return [scene] * len(rules)
        return [self.run_rule(code, None, scene) for _, code in rules]

    def wrap_once(self, data: Any) -> Any:
        """``wrap_scene(data)`` under the wall-clock timer; a wire error if it fails."""
        timer = self.timer
        try:
            timer.arm()
            try:
                return self.wrap_scene(data)
            finally:
                timer.pause()
        except RuleTimeout as exc:
            return ["e", "timeout", f"reading the scene: {exc}"]
        except MemoryError:
            return ["e", "input", "the scene is too large for the memory limit"]
        except BaseException as exc:
            return ["e", "input", "the rule API cannot read this scene: " + describe(exc)]

    def run_rule(self, code: CodeType | str, data: Any, scene: Any = None) -> Wire:
        """Run one compiled rule in fresh globals, under the timers.

        Args:
            code: The compiled rule, or its policy error message.
            data: The decoded scene, wrapped here for this rule alone; or None when
                ``scene`` is given.
            scene: An already wrapped scene (APIs that declare ``SCENE_IS_IMMUTABLE``).

        """
        if isinstance(code, str):
            return ["e", "policy", code]
        timer = self.timer
        try:
            timer.arm()
            try:
                if data is not None:
                    try:
                        scene = self.wrap_scene(data)
                    except (RuleTimeout, MemoryError):
                        raise
                    except Exception as exc:
                        msg = "the rule API cannot read this scene: " + describe(exc)
                        return ["e", "input", msg]
                env = self.template.copy()
                exec(code, env)
                check = env.get("check")
                if not callable(check):
                    return ["e", "policy", "rule code must define `def check(scene):`"]
                return self.check_output(check(scene))
            finally:
                timer.pause()
        except RuleTimeout as exc:
            return ["e", "timeout", str(exc)]
        except SizeLimitError as exc:
            return ["e", "memory", one_line(str(exc)) + _at(exc)]
        except MemoryError as exc:
            msg = f"the rule ran out of memory (limit {self.limits.memory_mb} MB)"
            return ["e", "memory", msg + _at(exc)]
        except RecursionError as exc:
            msg = f"RecursionError: more than {self.limits.recursion_limit} nested calls"
            return ["e", "exception", msg + _at(exc)]
        except BaseException as exc:
            return ["e", "exception", describe(exc) + _at(exc)]

    def check_output(self, out: Any) -> Wire:
        """Validate what ``check`` returned and convert it to a wire result."""
        lim = self.limits
        if type(out) is not list and type(out) is not tuple:
            return [
                "e",
                "output",
                f"check() must return a list of violations ([] when the rule holds), "
                f"got {_type_name(out)}",
            ]
        if not out:
            return _PASS
        if len(out) > lim.max_violations:
            return [
                "e",
                "output",
                f"check() returned {len(out)} violations; the limit is {lim.max_violations}",
            ]
        items = []
        for i, v in enumerate(out):
            if type(v) is not dict:
                return [
                    "e",
                    "output",
                    f"violation {i} is a {_type_name(v)}, not a dict; build violations with "
                    f"violation(message, *components)",
                ]
            problem = _violation_problem(v, lim)
            if problem:
                return ["e", "output", f"violation {i}: {problem}"]
            items.append([v["message"], list(v.get("evidence", ()))])
        return ["f", items]


def _violation_problem(v: dict[str, Any], lim: Limits) -> str | None:
    extra = [k for k in v if k not in ("message", "evidence")]
    if extra:
        return f"unexpected keys {sorted(map(str, extra))[:5]}; use violation(message, *components)"
    msg = v.get("message")
    if type(msg) is not str:
        return f"message must be a str, got {_type_name(msg)}"
    if len(msg) > lim.max_message_chars:
        return f"message has {len(msg)} characters; the limit is {lim.max_message_chars}"
    if not _is_text(msg):
        return "message is not valid text"
    ev = v.get("evidence", ())
    if type(ev) is not list and type(ev) is not tuple:
        return f"evidence must be a list of component ids, got {_type_name(ev)}"
    if len(ev) > lim.max_evidence:
        return f"{len(ev)} evidence ids; the limit is {lim.max_evidence}"
    for e in ev:
        if type(e) is not str or len(e) > lim.max_id_chars or not _is_text(e):
            return f"evidence must be component ids (str of at most {lim.max_id_chars} characters)"
    return None


def _is_text(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _at(exc: BaseException) -> str:
    line = rule_line(exc.__traceback__)
    return f" (line {line})" if line else ""


# --- process entry point -------------------------------------------------------------------


def _take_stdio() -> tuple[int, int]:
    """Move the protocol pipes off fds 0/1; fd 0 reads /dev/null, fd 1 goes to stderr."""
    in_fd, out_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return in_fd, out_fd


def _sender(fd: int) -> Callable[[dict[str, Any]], None]:
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode

    def send(obj: dict[str, Any]) -> None:
        view = memoryview((dumps(obj) + "\n").encode("ascii"))
        while view:
            n = os.write(fd, view)
            view = view[n:]

    return send


def _stack_depth() -> int:
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth


def _start(reader: BinaryIO) -> tuple[Evaluator, dict[str, Any]]:
    init = json.loads(reader.readline())
    limits = Limits.from_dict(init["limits"])
    info: dict[str, Any] = {"pid": os.getpid()}
    preload()
    info["network"] = lock_network(limits.isolate_network)
    for path in init.get("paths", []):
        if path not in sys.path:
            sys.path.append(path)
    api = importlib.import_module(init["api"])
    evaluator = Evaluator(api, limits)
    ids = nobody_ids()
    info["rlimits"] = lock_resources(limits)
    info["files"] = lock_filesystem(limits.confine_files)
    info["user"] = lock_user(limits.drop_privileges, ids)
    info["process"] = lock_process(int(init["parent"]))
    sys.setrecursionlimit(_stack_depth() + 30 + limits.recursion_limit)
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(limits.int_max_str_digits)
    gc.collect()
    gc.freeze()  # setup objects are never collected again: cheaper collections later
    gc.set_threshold(20_000, 50, 100)  # API objects are allocated in bulk for every scene
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGALRM, evaluator.timer.on_signal)
    if hasattr(signal, "SIGXCPU"):
        signal.signal(signal.SIGXCPU, evaluator.timer.on_signal)
        evaluator.limit_cpu = "not" not in info["rlimits"].get("RLIMIT_CPU", "not")
    info["api"] = init["api"]
    info["api_names"] = sorted(evaluator.exports)
    return evaluator, info


def _serve(reader: BinaryIO, evaluator: Evaluator, send: Callable[[dict[str, Any]], None]) -> None:
    while True:
        line = reader.readline()
        if not line:
            return
        msg = json.loads(line)
        op = msg["op"]
        if op == "eval":
            scenes = [reader.read(n) for n in msg["lens"]]
            evaluator.evaluate(msg["pack"], msg.get("rules"), scenes, send)
            t = os.times()
            send({"done": True, "cpu": round(t.user + t.system, 3)})
        elif op == "load":
            evaluator.load(msg["pack"], msg["rules"])
        elif op == "unload":
            evaluator.packs.pop(msg["pack"], None)
        elif op == "exit":
            return
        else:
            raise ValueError(f"unknown op {op!r}")


def main() -> None:
    """Run a worker on this process's stdin/stdout (see the module docstring)."""
    in_fd, out_fd = _take_stdio()
    send = _sender(out_fd)
    reader = os.fdopen(in_fd, "rb", buffering=1 << 16)
    try:
        evaluator, info = _start(reader)
    except BaseException as exc:
        msg = one_line(f"worker could not start: {describe(exc)}", 1000)
        sys.stderr.write(msg + "\n")
        sys.stderr.flush()
        try:
            send({"fatal": msg})
        finally:
            os._exit(EXIT_FATAL)
    send({"ready": True, "info": info})
    try:
        _serve(reader, evaluator, send)
    except BrokenPipeError:
        os._exit(0)
    except BaseException as exc:
        msg = one_line(f"worker failed: {describe(exc)}", 1000)
        sys.stderr.write(msg + "\n")
        sys.stderr.flush()
        try:
            send({"fatal": msg})
        finally:
            os._exit(EXIT_FATAL)
    os._exit(0)
