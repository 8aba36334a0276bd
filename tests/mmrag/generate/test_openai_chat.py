"""The OpenAI-compatible chat backend against a real server: llama-cpp-python's OpenAI-compatible server
on 127.0.0.1 with the offline 0.5B GGUF (started once per session, one thread, killed at the end)."""
from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from mmrag.answer import parse_citations
from mmrag.errors import ConfigError, GenerationError, PromptTooLongError
from mmrag.generate import create_generator, generator_names
from mmrag.generate.openai_chat import OpenAIChatLLM
from tests.mmrag.answer.conftest import write_docs

ALIAS = "qwen-small"
N_CTX = 2048
STARTUP_S = 180.0
SERVER_DEPS = ("fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings", "yaml")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(proc: subprocess.Popen, url: str, log_path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/models", timeout=2) as r:
                if ALIAS in json.load(r)["data"][0]["id"]:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"llama_cpp.server not ready after {STARTUP_S:.0f} s:\n{log_path.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def server_url(tmp_path_factory):
    """Base URL (http://127.0.0.1:PORT/v1) of llama-cpp-python's server running the offline 0.5B model."""
    missing = [m for m in SERVER_DEPS if importlib.util.find_spec(m) is None]
    if missing or importlib.util.find_spec("llama_cpp") is None:
        pytest.skip(f"llama-cpp-python's server is not installed (missing {missing or ['llama_cpp']}): "
                    "pip install -c constraints.txt 'llama-cpp-python[server]'")
    from mmrag.generate import SMALL_MODEL, ensure_gguf
    from mmrag.generate.models import REGISTRY, locate_pieces
    try:
        locate_pieces(REGISTRY[SMALL_MODEL])
    except FileNotFoundError as exc:
        pytest.skip(f"model pieces not installed: {exc}")
    port, log_path = _free_port(), tmp_path_factory.mktemp("llama-server") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(ensure_gguf(SMALL_MODEL)), "--model_alias", ALIAS,
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(N_CTX), "--n_threads", "1",
           "--n_threads_batch", "1", "--verbose", "False"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_ready(proc, url, log_path)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def gen(server_url):
    return OpenAIChatLLM("openai:" + ALIAS, base_url=server_url, n_ctx=N_CTX)


@pytest.fixture(scope="module")
def docs_library(tmp_path_factory, minilm):
    from mmrag import Library
    tmp = tmp_path_factory.mktemp("openai-docs")
    with Library(tmp / "lib", text_encoder="minilm") as lib:
        lib.ingest([write_docs(tmp / "docs", with_table=True)])
        yield lib


def test_names_and_configuration_errors(monkeypatch):
    assert "openai:<model>" in generator_names()
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="set OPENAI_BASE_URL .*OPENAI_API_KEY"):
        OpenAIChatLLM("openai:any")
    with pytest.raises(ConfigError, match="needs a model name"):
        OpenAIChatLLM("openai:", base_url="http://127.0.0.1:9/v1")
    dead = OpenAIChatLLM("openai:any", base_url=f"http://127.0.0.1:{_free_port()}/v1", max_retries=0, timeout=5)
    with pytest.raises(GenerationError, match=r"cannot reach the OpenAI-compatible server at http://127.0.0.1:\d+/v1"
                                              r".*OPENAI_BASE_URL"):
        dead.complete("hi", max_tokens=2)
    with pytest.raises(GenerationError, match="cannot reach"):
        list(dead.stream("hi", max_tokens=2))


@pytest.mark.slow
def test_complete_stream_and_the_clients_own_env_vars(server_url, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server_url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    g = create_generator("openai:" + ALIAS, n_ctx=N_CTX)  # the registry; the address from OPENAI_BASE_URL
    assert isinstance(g, OpenAIChatLLM) and g.name == "openai:" + ALIAS and g.kind == "chat" and g.n_ctx == N_CTX
    assert g.base_url.rstrip("/") == server_url
    msgs = [{"role": "user", "content": "What is 2 + 3? Reply with the number only."}]
    assert g.complete(msgs, max_tokens=8).strip().startswith("5")
    assert g.usage.last["prompt_tokens"] > 10 and g.usage.last["completion_tokens"] >= 1  # the server's counts
    pieces = list(g.stream([{"role": "user", "content": "Name three colours, comma separated."}], max_tokens=16))
    assert len(pieces) > 2 and "".join(pieces).strip()
    assert g.usage.last["first_token_s"] is not None and g.usage.calls == 2
    text = "The Kerrow lighthouse stands 42 metres tall on the northern cliff. " * 20
    g.complete([{"role": "user", "content": text}], max_tokens=1)
    assert g.count_tokens(text) >= g.usage.last["prompt_tokens"]  # an upper estimate: packing never overflows


@pytest.mark.slow
def test_stopping_a_stream_and_a_prompt_too_long(gen):
    stream = gen.stream([{"role": "user", "content": "Count from 1 to 200, one number per line."}], max_tokens=400)
    first = next(stream)
    stream.close()  # the stop button: the connection is closed, the server stops generating
    assert first and gen.usage.last["completion_tokens"] == 1
    assert gen.complete("Reply with the word yes.", max_tokens=4).strip()  # the server still answers
    with pytest.raises(PromptTooLongError, match="prompt too long for openai:qwen-small") as err:
        gen.complete("word " * 3000, max_tokens=4)
    assert isinstance(err.value, ValueError)  # table QA treats it as llama.cpp's context error


@pytest.mark.slow
def test_a_real_ask_streams_tokens_and_cites(docs_library, gen):
    events = list(docs_library.ask_stream("How long does the sourdough loaf bake?", generator=gen, k=4,
                                          max_tokens=48, table_qa=False))
    kinds = [e.kind for e in events]
    assert kinds[0] == "evidence" and kinds[-1] == "answer" and kinds.count("token") >= 3
    answer = events[-1].answer
    assert answer.model == "openai:" + ALIAS and "45" in answer.text
    assert parse_citations(answer.text) and any(e.source.endswith("bakery.txt") for e in answer.citations)
    assert answer.meta["prompt_tokens"] <= N_CTX - 48


@pytest.mark.slow
def test_a_table_question_writes_sql_through_it(docs_library, gen):
    before = gen.usage.prompt_tokens
    answer = docs_library.ask("What is the population of Norway in millions?", generator=gen, k=4, max_tokens=32)
    assert answer.meta["table_question"], answer.meta
    first = answer.evidence[0]
    assert first.sql and first.sql.lower().startswith(("select", "with"))
    assert [[str(v) for v in r] for r in first.rows] == [["5"]]
    assert gen.usage.prompt_tokens > before  # the SQL came from a complete() call answered by the server
    assert "5" in answer.text and answer.citations
