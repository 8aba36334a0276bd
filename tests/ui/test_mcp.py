"""`mmrag serve --mcp`: the typed tools through Gradio's MCP server, driven by the `mcp` client package over
streamable HTTP on 127.0.0.1, against a served MiniLM library (documents, a table, a video with speech)."""
from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest

from .conftest import free_port

pytestmark = pytest.mark.slow
mcp = pytest.importorskip("mcp", reason="the mcp package is not installed (pip install 'mcp>=1.21,<2')")
TOOLS = {"search", "ask", "moments", "table_query", "status"}
SQL = "SELECT Country, COUNT(*) AS riders FROM t GROUP BY Country ORDER BY riders DESC LIMIT 1"


class SqlWriter:
    """A deterministic stand-in for the LLM that writes SQL (plumbing: the real models are tested in
    tests/mmrag/tables); `questions` records what it was asked."""

    name, kind, n_ctx = "test-sql-writer", "chat", 4096

    def __init__(self) -> None:
        self.questions: list[str] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def complete(self, messages: list[dict], **kw: Any) -> str:
        self.questions.append(messages[-1]["content"])
        return f"```sql\n{SQL}\n```"


WRITER = SqlWriter()


@pytest.fixture(scope="module")
def mcp_app(minilm_corpus):
    from mmrag.generate.registry import register_generator
    from ui import Settings, launch
    register_generator(WRITER.name)(lambda **kw: WRITER)
    server = launch(Settings(library=minilm_corpus, generator="extractive", mcp=True, table_llm=WRITER.name),
                    port=free_port())
    yield server
    server.close()


def session_calls(url: str, calls: list[tuple[str, dict]], headers: dict | None = None) -> tuple[list, list]:
    """(the listed tools, each call's result) over one MCP session."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def run() -> tuple[list, list]:
        async with httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(30, read=300)) as http, \
                streamable_http_client(url, http_client=http) as (read, write, _), ClientSession(read, write) as s:
            await s.initialize()
            tools = (await s.list_tools()).tools
            return tools, [await s.call_tool(name, args) for name, args in calls]
    return asyncio.run(asyncio.wait_for(run(), 300))


def payload(result: Any) -> Any:
    """The JSON of a successful mcp CallToolResult."""
    assert not result.isError, result.content
    return json.loads(result.content[0].text)


def test_the_tools_are_typed_and_documented(mcp_app):
    tools, _ = session_calls(mcp_app.mcp_url, [])
    by_name = {t.name: t for t in tools}
    assert set(by_name) == TOOLS  # the page's own events (ingest, remove) are not tools
    search = by_name["search"].inputSchema
    assert search["required"] == ["query"] and search["properties"]["k"] == {
        "type": "integer", "description": "how many hits to return (1 to 50)", "default": 5}
    assert "history" in by_name["ask"].inputSchema["properties"] and "JSON" in by_name["ask"].description
    assert by_name["status"].inputSchema["properties"] == {}


def test_search_ask_moments_table_query_status(mcp_app):
    video = "lighthouse-keeper.mp4"
    _, (st,) = session_calls(mcp_app.mcp_url, [("status", {})])
    st = payload(st)
    [path] = [v for v in st["videos"] if v.endswith(video)]
    assert st["spaces"]["text"]["encoder"] == "minilm" and st["records"]["table"] > 0
    _, results = session_calls(mcp_app.mcp_url, [
        ("search", {"query": "how long does the loaf bake with the lid on", "k": 3}),
        ("ask", {"question": "How long should the bread bake with the lid on?", "k": 4}),
        ("ask", {"question": "And without it?", "history": ["How long should the bread bake with the lid on?"]}),
        ("moments", {"video": path, "query": "the keeper turns the light on", "k": 2}),
        ("table_query", {"question": "Which country has the most riders in the top ten?"}),
    ])
    hits, ans, follow, moments, table = map(payload, results)
    assert hits["hits"][0]["source"].endswith("sourdough.txt") and "dense:text" in hits["hits"][0]["retrievers"]
    assert "twenty minutes" in ans["answer"].lower() and ans["citations"], ans
    cited = [e for e in ans["evidence"] if e["n"] in ans["citations"]]
    assert cited[0]["source"].endswith("sourdough.txt")
    assert follow["searched"] != follow["question"] and "bread" in follow["searched"].lower(), follow
    top = moments["moments"][0]
    assert top["t_start"] <= 14.0 and top["t_end"] >= 12.0, moments  # "Now the Keeper turns the light on." 12-14 s
    assert table["sql"] == SQL and table["rows"] == [["Italy", 3]] and "Italy" in table["answer"], table
    assert WRITER.questions and "most riders" in WRITER.questions[-1]


def test_mistakes_come_back_as_tool_errors(mcp_app):
    _, results = session_calls(mcp_app.mcp_url, [("search", {"query": "   "}),
                                                 ("moments", {"video": "/etc/passwd", "query": "root"}),
                                                 ("search", {"query": "bread", "k": 500})])
    empty, outside, many = results
    assert empty.isError and "type a query" in empty.content[0].text
    assert outside.isError and "not one of the library's videos" in outside.content[0].text
    assert len(payload(many)["hits"]) <= 50  # k is clamped by the service whatever the client asks


def test_mcp_needs_the_login_when_auth_is_set(minilm_corpus):
    from ui import Settings, launch
    server = launch(Settings(library=minilm_corpus, generator="extractive", mcp=True, warm_up=False),
                    port=free_port(), auth=("ann", "s3cret"))
    try:
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
        accept = {"accept": "application/json, text/event-stream"}
        for path in ("gradio_api/mcp/", "gradio_api/mcp/schema", "gradio_api/mcp/sse"):
            r = httpx.post(server.url + path, json=init, headers=accept, timeout=30)
            assert r.status_code == 401, (path, r.status_code, r.text[:200])
        with pytest.raises(Exception) as refused:  # noqa: B017 - the client wraps it in exception groups
            session_calls(server.mcp_url, [("status", {})])
        assert "401" in str(refused.getrepr()), refused.getrepr()
        login = {"authorization": "Basic " + base64.b64encode(b"ann:s3cret").decode()}
        tools, (st,) = session_calls(server.mcp_url, [("status", {})], headers=login)
        assert {t.name for t in tools} == TOOLS and payload(st)["records"]
    finally:
        server.close()
