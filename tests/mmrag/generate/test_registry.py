"""The generator registry: names, instances, caching, and the automatic fallback chain."""
from __future__ import annotations

import pytest

from mmrag.generate import ExtractiveGenerator, ModelSpec, create_generator, register_model, registry
from mmrag.generate import models as models_mod


def test_names_instances_and_cache():
    gen = create_generator("extractive")
    assert gen.kind == "extractive" and gen.name == "extractive"
    assert create_generator("extractive") is gen  # loaded once per process
    mine = ExtractiveGenerator(max_sentences=1)
    assert create_generator(mine) is mine
    with pytest.raises(ValueError, match=r"unknown generator 'gpt-9'; valid: auto, extractive, llama, .*vlm:"):
        create_generator("gpt-9")
    with pytest.raises(TypeError, match="lacks name/kind"):
        create_generator(object())


def test_auto_falls_back_to_extractive_without_models(monkeypatch):
    """With no model pieces installed (two specs naming absent packages), 'auto' answers extractively."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in ("fake-big", "fake-small"):
        register_model(ModelSpec(name, f"{name}.gguf", "0" * 64, 1, pieces=((f"mmrag_absent_{name[5:]}", "p.bin"),),
                                 pip_requirements=(f"mmrag-absent-{name[5:]}==1.0",)))
    monkeypatch.setattr(registry, "default_model_name", lambda: "fake-big")
    monkeypatch.setattr(registry, "SMALL_MODEL", "fake-small")
    monkeypatch.setattr(registry, "_INSTANCES", {})
    try:
        gen = create_generator("auto", n_ctx=1024)
        assert gen.kind == "extractive" and gen.choice == "fallback: no LLM installed"
    finally:
        for name in ("fake-big", "fake-small"):
            del models_mod.REGISTRY[name]


@pytest.mark.slow
def test_auto_takes_the_small_model_when_the_default_is_missing(monkeypatch, llm):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    register_model(ModelSpec("fake-missing", "fake-missing.gguf", "0" * 64, 1,
                             pieces=(("mmrag_absent_x", "p.bin"),), pip_requirements=("mmrag-absent-x==1.0",)))
    monkeypatch.setattr(registry, "default_model_name", lambda: "fake-missing")
    monkeypatch.setattr(registry, "_INSTANCES", {})
    try:
        gen = create_generator("auto", n_ctx=2048, n_threads=1)
        assert gen.name == llm.name and gen.choice.startswith("fallback (fake-missing")
        assert gen._llama is llm._llama  # the same llama.cpp instance: loaded once per process
    finally:
        del models_mod.REGISTRY["fake-missing"]
