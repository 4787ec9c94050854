"""Append-only JSON Lines audit log with a SHA-256 hash chain over canonical JSON (RFC 8785).

One record per line. Each line is the canonical JSON (RFC 8785, JCS) of an object with exactly
these fields::

    {"seq": 3, "time": "2025-01-31T12:00:00.000000Z", "kind": "inspect.verdict",
     "data": {...}, "prev": "<hash of record 2>", "hash": "<sha256 of this record>"}

* ``hash`` is the hex SHA-256 of the canonical JSON of the record *without* ``hash``.
* ``prev`` is the ``hash`` of the record before it; the first record has 64 zeros.
* ``seq`` counts from 0 without gaps. Record 0 is the header (kind ``audit.header``): its data
  names the format and version, the log's purpose and its ``run_id``, so every later record is
  chained to them.

:func:`verify_log` recomputes every hash and link and reports each edited, removed, duplicated
or reordered record, and a half-written last line, as one line naming the line number. A record
removed from the *end* leaves a valid (shorter) chain: only an anchor kept elsewhere catches it
(``expect_head`` = :meth:`AuditLog.head` and/or ``expect_count`` = :attr:`AuditLog.count`
printed in a run manifest or report).

The hash covers the canonical form of the parsed record, not the line's bytes: re-serialising a
line (other whitespace, other key order) does not change its content and still verifies (with a
warning); changing any value does not.

:class:`AuditLog` appends with one ``write`` + flush + ``fsync`` under an exclusive file lock
(POSIX), after verifying the whole log when it opens it (and again if another writer appended
since), so it never chains onto a corrupt log. See ``docs/audit.md``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from logicode.errors import LogicodeError, field_path

try:  # POSIX advisory locks; other platforms run without them (one writer at a time).
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

FORMAT = "logicode.audit"
VERSION = 1
HEADER_KIND = "audit.header"
REPAIR_KIND = "audit.repair"
GENESIS_PREV = "0" * 64
FIELDS = ("seq", "time", "kind", "data", "prev", "hash")
MAX_SAFE_INT = 2**53 - 1
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_KIND = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")


class AuditError(LogicodeError):
    """An audit log cannot be read, is corrupt, or a record cannot be written to it."""


# --------------------------------------------------------------------------- canonical JSON


def check_json(value: Any, where: str = "data") -> None:
    """Check that ``value`` is plain JSON that RFC 8785 can represent exactly.

    Allowed: ``dict`` with ``str`` keys, ``list``/``tuple``, ``str``, ``bool``, ``None``,
    ``int`` within +-(2**53 - 1) and finite ``float``.

    Args:
        value: The value to check.
        where: Its name, used in the error message (``data.scores[2]``).

    Raises:
        AuditError: Naming the first offending field.
    """
    _check(value, [where])


def _check(value: Any, path: list[Any]) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise AuditError(
                f"{field_path(path)} holds a lone surrogate: not valid Unicode text"
            ) from None
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INT:
            raise AuditError(
                f"{field_path(path)} = {value} is beyond +-(2**53 - 1), which canonical JSON "
                "cannot hold exactly; store it as a string"
            )
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise AuditError(f"{field_path(path)} is {value}: audit data floats must be finite")
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise AuditError(f"{field_path(path)} has a non-string key {k!r}")
            _check(v, [*path, k])
        return
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check(v, [*path, i])
        return
    raise AuditError(
        f"{field_path(path)} is a {type(value).__name__}, not JSON "
        "(use dict, list, str, int, float, bool or None)"
    )


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 (JCS) canonical JSON of ``value`` as UTF-8 bytes.

    Keys sorted by UTF-16 code units, no whitespace, numbers as ECMAScript prints them.

    Example:
        >>> canonical_json({"b": [1.0, 1e21, -0.0], "a": "x"})
        b'{"a":"x","b":[1,1e+21,0]}'

    Raises:
        AuditError: For NaN or infinite floats, out-of-range integers, non-string keys and
            types that are not JSON.
    """
    import rfc8785

    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError) as exc:
        raise AuditError(f"not representable as canonical JSON: {exc}") from None


def record_hash(record: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the canonical JSON of ``record`` without its ``hash`` field."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def utc_timestamp(when: datetime | None = None) -> str:
    """ISO 8601 UTC with microseconds and a ``Z``, e.g. ``2025-01-31T12:00:00.000000Z``."""
    when = when or datetime.now(timezone.utc)
    if when.tzinfo is None:
        raise AuditError("audit times must be timezone-aware (got a naive datetime)")
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------- reading


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _parse_line(raw: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity, no duplicate keys (raises ValueError)."""
    return json.loads(
        raw.decode("utf-8"),
        object_pairs_hook=_no_duplicate_keys,
        parse_constant=_reject_constant,
    )


def _structure_problem(rec: Any) -> str | None:
    """Why ``rec`` is not an audit record, or None."""
    if not isinstance(rec, dict):
        return f"a JSON {type(rec).__name__}, not a record object"
    missing = [f for f in FIELDS if f not in rec]
    extra = sorted(set(rec) - set(FIELDS))
    if missing or extra:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unexpected {', '.join(extra)}"] if extra else []
        )
        return "not an audit record (" + "; ".join(parts) + ")"
    seq = rec["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return f"seq {seq!r} is not a non-negative integer"
    if not isinstance(rec["kind"], str) or not rec["kind"]:
        return "kind is not a non-empty string"
    if not isinstance(rec["data"], dict):
        return "data is not an object"
    for name in ("prev", "hash"):
        if not isinstance(rec[name], str) or not _HEX64.match(rec[name]):
            return f"{name} is not 64 lowercase hex digits"
    t = rec["time"]
    if not isinstance(t, str) or not _TIME.match(t):
        return f"time {t!r} is not ISO 8601 UTC (YYYY-MM-DDTHH:MM:SS.ffffffZ)"
    try:
        datetime.fromisoformat(t[:-1])
    except ValueError:
        return f"time {t!r} is not a valid date and time"
    return None


@dataclass
class _Entry:
    line: int
    offset: int
    raw: bytes
    rec: dict[str, Any]
    computed: str
    canonical: bool

    @property
    def seq(self) -> int:
        return int(self.rec["seq"])

    @property
    def hash(self) -> str:
        return str(self.rec["hash"])


@dataclass
class _Scan:
    entries: list[_Entry] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fragment: tuple[int, int, int] | None = None  # (line, offset, length) of a torn last line
    missing_newline: bool = False

    @property
    def tail_only(self) -> bool:
        """True when the only problem is at the end of the file (an interrupted write)."""
        return bool(self.fragment or self.missing_newline) and len(self.problems) == 1


def _split_lines(data: bytes) -> Iterator[tuple[int, int, bytes, bool]]:
    """Yield (line number, byte offset, bytes without newline, terminated)."""
    offset = 0
    n = 0
    while offset < len(data):
        n += 1
        end = data.find(b"\n", offset)
        if end < 0:
            yield n, offset, data[offset:], False
            return
        yield n, offset, data[offset:end], True
        offset = end + 1


def _scan(data: bytes) -> _Scan:
    """Parse every line and check every hash and link (see the module docstring)."""
    scan = _Scan()
    gaps: set[int] = set()  # indexes into entries preceded by an unreadable line
    bad_since_last = False
    for n, offset, raw, terminated in _split_lines(data):
        if not raw.strip():
            scan.problems.append((n, f"line {n}: empty line"))
            continue
        try:
            rec = _parse_line(raw)
        except ValueError as exc:
            if not terminated:
                scan.fragment = (n, offset, len(raw))
                scan.problems.append(
                    (
                        n,
                        f"line {n}: incomplete last line ({len(raw)} bytes, no newline, not "
                        "valid JSON): a write was interrupted; appending is refused until it is "
                        "repaired (AuditLog(..., repair_tail=True))",
                    )
                )
            else:
                scan.problems.append((n, f"line {n}: not valid JSON ({_first_line(exc)})"))
                bad_since_last = True
            continue
        why = _structure_problem(rec)
        computed = ""
        if why is None:
            try:
                computed = record_hash(rec)
            except AuditError as exc:
                why = str(exc)
        if why is not None:
            scan.problems.append((n, f"line {n}: {why}"))
            bad_since_last = True
            continue
        if not terminated:
            scan.missing_newline = True
            scan.problems.append(
                (n, f"line {n}: no newline at the end of the file (an interrupted write?)")
            )
        canonical = raw == canonical_json(rec)
        if bad_since_last:
            gaps.add(len(scan.entries))
            bad_since_last = False
        scan.entries.append(_Entry(n, offset, raw, rec, computed, canonical))
    _check_chain(scan, gaps)
    scan.problems.sort(key=lambda p: p[0])
    return scan


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _seq_range(a: int, b: int) -> str:
    return f"record {a}" if a == b else f"records {a}..{b}"


def _check_chain(scan: _Scan, gaps: set[int]) -> None:
    """Append one problem per record whose hash, seq or prev is wrong."""
    entries = scan.entries
    first_line_of_hash: dict[str, int] = {}
    lines_of_seq: dict[int, list[int]] = {}
    for e in entries:
        first_line_of_hash.setdefault(e.hash, e.line)
        lines_of_seq.setdefault(e.seq, []).append(e.line)
    seq_of_line = {e.line: e.seq for e in entries}

    prev_e: _Entry | None = None
    for i, e in enumerate(entries):
        reasons: list[str] = []
        if e.computed != e.hash:
            reasons.append("hash mismatch: the record was changed after it was written")
        elif not e.canonical:
            scan.warnings.append(
                f"line {e.line}: not in canonical form (re-serialised); its content verifies"
            )
        kind = e.rec["kind"]
        if prev_e is None:
            reasons += _header_reasons(e)
        else:
            if kind == HEADER_KIND:
                reasons.append("a second log header")
            duplicate = False
            if i not in gaps:
                expected = prev_e.seq + 1
                if e.seq != expected:
                    earlier = [ln for ln in lines_of_seq[e.seq] if ln < e.line]
                    same = first_line_of_hash.get(e.hash, e.line)
                    if same < e.line:
                        duplicate = True
                        reasons.append(f"duplicate of line {same} (seq {e.seq})")
                    elif earlier:
                        reasons.append(f"seq {e.seq} already used on line {earlier[0]}")
                    elif e.seq < expected:
                        reasons.append(
                            f"seq {e.seq} comes after seq {prev_e.seq}: records out of order"
                        )
                    else:
                        missing = range(expected, e.seq)
                        elsewhere = [s for s in missing if s in lines_of_seq]
                        if elsewhere:
                            reasons.append(
                                f"seq {e.seq} comes after seq {prev_e.seq} but seq "
                                f"{elsewhere[0]} is on line {lines_of_seq[elsewhere[0]][0]}: "
                                "records out of order"
                            )
                        else:
                            reasons.append(
                                f"seq jumps from {prev_e.seq} to {e.seq}: "
                                f"{_seq_range(expected, e.seq - 1)} removed"
                            )
                if not duplicate and e.rec["prev"] != prev_e.hash:
                    target = first_line_of_hash.get(e.rec["prev"])
                    if target is not None:
                        reasons.append(
                            f"prev is the hash of line {target} (seq {seq_of_line[target]}), "
                            f"not of line {prev_e.line}"
                        )
                    elif e.seq == expected:
                        reasons.append(
                            f"prev does not match line {prev_e.line}: that record was changed "
                            "and its hash recomputed, or records between them were removed"
                        )
                    else:
                        reasons.append("prev matches no record in the file")
            if not duplicate and _time_key(e) < _time_key(prev_e):
                scan.warnings.append(
                    f"line {e.line}: time {e.rec['time']} is before line {prev_e.line}'s "
                    f"{prev_e.rec['time']} (clock changed?)"
                )
        if reasons:
            scan.problems.append((e.line, f"line {e.line} (seq {e.seq}): " + "; ".join(reasons)))
        prev_e = e


def _time_key(e: _Entry) -> datetime:
    return datetime.fromisoformat(str(e.rec["time"])[:-1])


def _header_reasons(e: _Entry) -> list[str]:
    """Why the first record of the file is not a valid log header."""
    if e.seq != 0 or e.rec["kind"] != HEADER_KIND:
        if e.seq > 0:
            return [
                f"the first record is seq {e.seq} (kind {e.rec['kind']!r}), not the log "
                f"header: {_seq_range(0, e.seq - 1)} removed"
            ]
        return [f"the first record has kind {e.rec['kind']!r}, not {HEADER_KIND!r}"]
    out = []
    if e.rec["prev"] != GENESIS_PREV:
        out.append("the header's prev is not 64 zeros")
    data = e.rec["data"]
    if data.get("format") != FORMAT:
        out.append(f"header format is {data.get('format')!r}, not {FORMAT!r}")
    version = data.get("version")
    if version != VERSION:
        newer = isinstance(version, int) and version > VERSION
        out.append(
            f"header version {version!r} is not {VERSION}"
            + (" (written by a newer logicode)" if newer else "")
        )
    return out


# --------------------------------------------------------------------------- verify


@dataclass
class VerifyResult:
    """What :func:`verify_log` found.

    Attributes:
        path: The log file.
        ok: True when no problem was found.
        count: Records read (the header included; equals the last seq + 1 on a valid log).
        head: ``hash`` of the last record read (None when there is none).
        run_id: The header's run id (None without a header).
        problems: One line each, naming the line number and what is wrong.
        warnings: Things that do not break the chain (re-serialised lines, clock steps back).
    """

    path: Path
    ok: bool
    count: int
    head: str | None
    run_id: str | None
    problems: list[str]
    warnings: list[str]

    def summary(self) -> str:
        """One line: ``OK ...`` with count and head, or ``FAILED ...`` with the problem count."""
        if self.ok:
            return f"OK {self.path}: {self.count} records, head {self.head}"
        n = len(self.problems)
        return (
            f"FAILED {self.path}: {n} problem{'s' if n != 1 else ''} "
            f"({self.count} records read, head {self.head})"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "path": str(self.path),
            "ok": self.ok,
            "count": self.count,
            "head": self.head,
            "run_id": self.run_id,
            "problems": list(self.problems),
            "warnings": list(self.warnings),
        }


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise AuditError(f"{path}: no such audit log") from None
    except IsADirectoryError:
        raise AuditError(f"{path}: is a folder, not an audit log file") from None
    except OSError as exc:
        raise AuditError(f"{path}: cannot read the audit log ({exc.strerror or exc})") from None


def _normalise_head(expect_head: str) -> str:
    h = expect_head.strip().lower()
    if not _HEX64.match(h):
        raise AuditError(f"expected head {expect_head!r} is not a SHA-256 (64 hex digits)")
    return h


def verify_log(
    path: str | Path, expect_head: str | None = None, expect_count: int | None = None
) -> VerifyResult:
    """Verify an audit log's hash chain, and optionally its head and length.

    Args:
        path: The JSON Lines audit log.
        expect_head: The hash the last record must have (an anchor printed elsewhere, e.g. in
            the run manifest). Catches records removed from the end.
        expect_count: The number of records (header included) the log must have.

    Returns:
        The result; ``ok`` is False when any problem was found.

    Raises:
        AuditError: When the file is missing or unreadable, or ``expect_head`` is not a hash.
    """
    path = Path(path)
    want_head = _normalise_head(expect_head) if expect_head is not None else None
    if expect_count is not None and expect_count < 0:
        raise AuditError(f"expected count {expect_count} is negative")
    data = _read_bytes(path)
    scan = _scan(data)
    problems = [p for _, p in scan.problems]
    if not data:
        problems.append("line 1: empty log (no header record)")
    entries = scan.entries
    last = entries[-1] if entries else None
    head = last.hash if last else None
    count = len(entries)
    if expect_count is not None and count != expect_count:
        how = "records were removed from the end" if count < expect_count else "records added"
        problems.append(f"end of log: {count} records, expected {expect_count} ({how})")
    if want_head is not None and head != want_head:
        at = next((e for e in entries if e.hash == want_head), None)
        if at is not None and last is not None:
            problems.append(
                f"end of log: the expected head is line {at.line} (seq {at.seq}), but "
                f"{last.line - at.line} more line(s) follow it"
            )
        else:
            problems.append(
                f"end of log: the expected head {want_head[:16]}... is not in the log "
                "(its end was removed or rewritten)"
            )
    header = entries[0].rec if entries and entries[0].rec["kind"] == HEADER_KIND else None
    run_id = header["data"].get("run_id") if header else None
    return VerifyResult(
        path=path,
        ok=not problems,
        count=count,
        head=head,
        run_id=run_id if isinstance(run_id, str) else None,
        problems=problems,
        warnings=scan.warnings,
    )


# --------------------------------------------------------------------------- writing


class AuditLog:
    """An append-only audit log file: verified on open, chained on every append.

    Opening a missing or empty file writes the header record. Opening an existing log verifies
    it entirely and refuses (:class:`AuditError`) to chain onto one with any problem. A torn
    last line left by a crash is cut off only with ``repair_tail=True``, and the cut is itself
    recorded (kind ``audit.repair``, with the size and SHA-256 of the lost bytes).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "audit.jsonl"
        >>> log = AuditLog(p, purpose="doctest", run_id="r1")
        >>> log.append("note", {"text": "hello"})["seq"]
        1
        >>> verify_log(p, expect_head=log.head()).ok
        True

    Args:
        path: The log file (created with its folder when missing).
        purpose: What the log records; written in the header of a new log.
        run_id: The run the log belongs to (a new log gets a random one when None). Opening a
            log of another run raises.
        repair_tail: Cut off an interrupted last line instead of refusing to append.
        clock: Returns the current time (timezone-aware); for tests.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        purpose: str = "",
        run_id: str | None = None,
        repair_tail: bool = False,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.path = Path(path)
        self._purpose = purpose
        self._want_run_id = run_id
        self._repair_tail = repair_tail
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._size: int | None = None
        self._next_seq = 0
        self._head = GENESIS_PREV
        self._header: dict[str, Any] = {}
        if self.path.is_dir():
            raise AuditError(f"{self.path}: is a folder, not an audit log file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._locked() as fd:
            self._sync(fd)

    @property
    def count(self) -> int:
        """Records in the log, the header included (last seq + 1)."""
        return self._next_seq

    @property
    def run_id(self) -> str:
        """The run id from the header."""
        return str(self._header["data"]["run_id"])

    @property
    def purpose(self) -> str:
        """The purpose from the header."""
        return str(self._header["data"].get("purpose", ""))

    def head(self) -> str:
        """The hash of the last record: print it in the run manifest/report as an anchor."""
        return self._head

    def append(self, kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """Append one record (single write, flushed and fsynced) and return it as read back.

        Args:
            kind: What happened, e.g. ``inspect.verdict`` (lowercase letters, digits, ``_.-``;
                kinds starting with ``audit.`` are reserved for the log itself).
            data: A JSON object: str keys, finite floats, integers within +-(2**53 - 1).

        Returns:
            The record as :func:`json.loads` reads its line back.

        Raises:
            AuditError: Bad kind or data, or the file was corrupted since it was opened.
        """
        if not isinstance(kind, str) or not _KIND.match(kind):
            raise AuditError(
                f"audit record kind {kind!r} must match {_KIND.pattern} (e.g. 'inspect.verdict')"
            )
        if kind.startswith("audit."):
            raise AuditError(f"audit record kind {kind!r}: 'audit.*' kinds are reserved")
        if not isinstance(data, Mapping):
            raise AuditError(f"audit record data must be a JSON object, not {type(data).__name__}")
        check_json(data)
        with self._locked() as fd:
            self._sync(fd)
            return self._write(fd, kind, dict(data))

    # -- internals

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            raise AuditError(
                f"{self.path}: cannot open the audit log ({exc.strerror or exc})"
            ) from None
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # closing releases the lock

    def _sync(self, fd: int) -> None:
        """Bring the in-memory state up to date with the file (under the lock)."""
        size = os.fstat(fd).st_size
        if size == self._size:
            return
        if size == 0:
            self._size = 0
            self._next_seq, self._head = 0, GENESIS_PREV
            run_id = self._want_run_id or uuid.uuid4().hex
            from logicode import __version__

            header = {
                "format": FORMAT,
                "version": VERSION,
                "purpose": self._purpose,
                "run_id": run_id,
                "writer": f"logicode {__version__}",
            }
            self._header = self._write(fd, HEADER_KIND, header)
            _fsync_dir(self.path.parent)
            return
        data = _read_fd(fd, size)
        scan = _scan(data)
        if scan.problems and not (self._repair_tail and scan.tail_only):
            first = scan.problems[0][1]
            more = f" (and {len(scan.problems) - 1} more)" if len(scan.problems) > 1 else ""
            raise AuditError(
                f"{self.path}: {first}{more}; refusing to append to a corrupt audit log "
                f"(see: logicode audit verify {self.path})"
            )
        if self._size is not None and self._next_seq > 0:
            self._check_not_rewritten(scan, size)
        self._load_state(scan, size)
        if scan.problems:  # repairable tail
            self._repair(fd, scan)

    def _check_not_rewritten(self, scan: _Scan, size: int) -> None:
        """Refuse when records this instance knew of were removed or replaced meanwhile."""
        assert self._size is not None
        known = {e.seq: e.hash for e in scan.entries}
        if size < self._size or known.get(self._next_seq - 1) != self._head:
            raise AuditError(
                f"{self.path}: the audit log lost or changed records since it was opened "
                f"(was {self._next_seq} records, {self._size} bytes; now {size} bytes); "
                "refusing to append"
            )

    def _load_state(self, scan: _Scan, size: int) -> None:
        entries = scan.entries
        if scan.fragment is not None and not entries:
            self._size, self._next_seq, self._head = size, 0, GENESIS_PREV
            return
        last = entries[-1]
        header = entries[0].rec
        run_id = header["data"].get("run_id")
        if self._want_run_id is not None and run_id != self._want_run_id:
            raise AuditError(
                f"{self.path}: the audit log belongs to run {run_id!r}, not "
                f"{self._want_run_id!r}; use another file for this run"
            )
        if self._header and self._header != header:
            raise AuditError(f"{self.path}: the audit log header changed while it was open")
        self._header = header
        self._size = size
        self._next_seq = last.seq + 1
        self._head = last.hash

    def _repair(self, fd: int, scan: _Scan) -> None:
        if scan.fragment is not None:
            line, offset, length = scan.fragment
            lost = _read_fd(fd, offset + length)[offset:]
            log.warning(
                "%s: cutting off an interrupted last line %d (%d bytes)", self.path, line, length
            )
            os.ftruncate(fd, offset)
            os.fsync(fd)
            self._size = offset
            info = {
                "reason": "incomplete last line cut off",
                "line": line,
                "bytes": length,
                "sha256": hashlib.sha256(lost).hexdigest(),
            }
            if offset == 0:  # the torn line was the header: start afresh
                self._size = None
                self._sync(fd)
        else:
            line = scan.entries[-1].line
            log.warning("%s: adding the missing newline after line %d", self.path, line)
            _write_all(fd, b"\n")
            os.fsync(fd)
            assert self._size is not None
            self._size += 1
            info = {"reason": "missing newline at the end added", "line": line}
        self._write(fd, REPAIR_KIND, info)

    def _write(self, fd: int, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {
            "seq": self._next_seq,
            "time": utc_timestamp(self._clock()),
            "kind": kind,
            "data": data,
            "prev": self._head,
        }
        record["hash"] = record_hash(record)
        line = canonical_json(record) + b"\n"
        _write_all(fd, line)
        os.fsync(fd)
        self._size = (self._size or 0) + len(line)
        self._next_seq += 1
        self._head = record["hash"]
        return json.loads(line)


def _write_all(fd: int, data: bytes) -> None:
    """One ``write`` call (loops only if the OS writes part of it)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_fd(fd: int, size: int) -> bytes:
    chunks = []
    offset = 0
    while offset < size:
        chunk = os.pread(fd, min(1 << 20, size - offset), offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _fsync_dir(folder: Path) -> None:
    """Make a new file's directory entry durable (POSIX only; best effort)."""
    if os.name != "posix":  # pragma: no cover
        return
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover
        return
    try:
        os.fsync(dfd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(dfd)
