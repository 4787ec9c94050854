"""Append-only JSON Lines files of pydantic records: crash-safe appends, resumable reads.

Used for LogiBench records and ``logicode inspect`` results. A record is appended with a single
``write`` and flushed to disk before :func:`append_model` returns. A crash in the middle of a
write leaves a truncated last line: reading ignores it with a warning, and the next append cuts
it off first, so the file stays valid. Any other bad line is real corruption and raises.

One process writes a file at a time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from logicode.errors import LogicodeError

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


class JsonlError(LogicodeError):
    """A JSON Lines records file is corrupt (a bad line that is not a truncated last line)."""


def _repair_tail(path: Path, model: type[BaseModel]) -> None:
    """Make ``path`` end with a newline, cutting off a truncated last line if there is one."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        return
    with path.open("rb+") as f:
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        f.seek(0)
        data = f.read()
        start = data.rfind(b"\n") + 1
        try:
            model.model_validate_json(data[start:])
        except ValueError:
            log.warning(
                "%s: cutting off a truncated last line (%d bytes) left by an interrupted write",
                path,
                size - start,
            )
            f.truncate(start)
        else:
            f.seek(size)
            f.write(b"\n")
        f.flush()
        os.fsync(f.fileno())


def append_model(path: str | Path, record: BaseModel) -> None:
    """Append one record to a JSON Lines file and flush it to disk.

    A truncated last line left by a crash is cut off first (with a warning).

    Args:
        path: The records file (created with its folder if missing).
        record: The record.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _repair_tail(path, type(record))
    line = record.model_dump_json().encode("utf-8") + b"\n"
    with path.open("ab") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read_models(
    path: str | Path,
    model: type[M],
    key: Callable[[M], Hashable],
    *,
    what: str = "record",
    error: type[LogicodeError] = JsonlError,
) -> list[M]:
    """Read a records file; a missing file has no records.

    A truncated last line (no newline at the end, not a valid record) is ignored with a
    warning. When a key appears twice, the later record wins (with a warning).

    Args:
        path: The records file.
        model: The record class.
        key: Identity of a record (later duplicates replace earlier ones).
        what: What a record is called in error messages.
        error: Error class raised on corruption.

    Returns:
        The records, in file order of their last occurrence.

    Raises:
        JsonlError: (or ``error``) a line other than a truncated last one is not a valid record.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    truncated_tail = not data.endswith(b"\n")
    by_key: dict[Hashable, M] = {}
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = model.model_validate_json(line)
        except (ValidationError, ValueError) as exc:
            if truncated_tail and i == len(lines):
                log.warning(
                    "%s: ignoring a truncated last line %d (%d bytes) left by an interrupted "
                    "write; that item will be run again",
                    path,
                    i,
                    len(line),
                )
                continue
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise error(
                f"{path}: line {i} is not a valid {what} ({first}); "
                "fix or delete that line, or start a new run with another output folder"
            ) from None
        k = key(rec)
        if k in by_key:
            log.warning("%s: %s %s appears again on line %d; keeping it", path, what, k, i)
            del by_key[k]
        by_key[k] = rec
    return list(by_key.values())


def write_models(path: str | Path, records: Iterable[BaseModel]) -> None:
    """Write records as a fresh JSON Lines file, atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for rec in records:
            f.write(rec.model_dump_json() + "\n")
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
