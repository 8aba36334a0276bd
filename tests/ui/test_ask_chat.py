"""The Ask tab as a conversation: follow-ups rewritten (and shown), the stop button cancelling a streaming
answer, and example questions made from the library."""
from __future__ import annotations

import time

from gradio_client import Client

from ui.conversation import Turn, add_turn, conversation_html, is_follow_up, rewrite

from .test_app_client import ASK_OUT


def ask(client: Client, text: str, k: int = 6) -> dict:
    return dict(zip(ASK_OUT, client.predict({"text": text, "files": []}, k, api_name="/ask")))


def test_follow_up_questions_are_rewritten_with_the_conversation():
    first = "How much was the espresso at the harbour cafe?"
    assert not is_follow_up(first) and not is_follow_up("Who won the stage?")
    assert all(is_follow_up(q) for q in ("and the orange juice?", "What did it cost?", "What about Italy?", "Why?"))
    history = [Turn(first, first)]
    assert rewrite("and the orange juice?", history) == f"{first} And the orange juice?"
    assert rewrite("What was the Q3 revenue in 2023?", history) == "What was the Q3 revenue in 2023?"
    assert rewrite("and this one?", history, has_image=True) == "and this one?"
    chained = add_turn(add_turn([], history[0]), Turn("and the juice?", rewrite("and the juice?", history)))
    assert rewrite("what about the croissant?", chained) == f"{first} What about the croissant?"  # same topic
    html = conversation_html([{"question": "<b>q</b>", "searched": "x: <b>q</b>", "answer": "It was 2.40 [1]."}],
                             skip_last=False)
    assert "&lt;b&gt;q&lt;/b&gt;" in html and "searched: x:" in html and "[1]" not in html


def test_the_page_keeps_the_conversation_per_session(app):
    client = Client(app.url, verbose=False)
    first = ask(client, "How much was the espresso at the harbour cafe?")
    assert first["data"]["searched"] == first["data"]["question"] and first["conversation"] == ""
    second = ask(client, "and the orange juice?")
    data = second["data"]
    searched = "How much was the espresso at the harbour cafe? And the orange juice?"
    assert data["searched"] == searched and "3.50" in data["answer"], data
    assert f"searched: <code>{searched}</code>" in second["info"]
    assert "How much was the espresso" in second["conversation"]  # the earlier turn, above the answer
    other = ask(Client(app.url, verbose=False), "and the orange juice?")  # another visitor: a new conversation
    assert other["data"]["searched"] == "and the orange juice?" and other["conversation"] == ""


def test_example_questions_come_from_the_library_and_find_it(app):
    from ui.examples import example_questions, question_for
    service = app.service
    questions = example_questions(service)
    assert 1 <= len(questions) <= 4 and len(set(questions)) == len(questions), questions
    checked = 0
    for source in service.sources():
        if source["status"] == "ok" and (q := question_for(service, source)):
            hits = service.search(q, k=5)
            assert source["path"] in {h.record.source for h in hits}, (q, source["path"])
            checked += 1
    assert checked >= 5
    assert any(q.startswith("Which Rider has") for q in
               [question_for(service, s) for s in service.sources() if s["path"].endswith(".csv")])


def test_stop_cancels_the_streaming_answer(slow_app):
    app, slow = slow_app
    client = Client(app.url, verbose=False)
    job = client.submit({"text": "How much was the espresso?", "files": []}, 4, api_name="/ask")
    deadline = time.monotonic() + 60
    while not any("word1" in str(out[1]) for out in job.outputs()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert slow.started.is_set() and any("word1" in str(out[1]) for out in job.outputs()), job.status()
    job.cancel()  # what the stop button sends: the event's cancellation
    assert slow.closed.wait(10) and not slow.finished  # the library's generator was closed mid-answer
    final = [dict(zip(ASK_OUT, out)) for out in job.outputs()]
    assert not any("cited" in str(out["info"]) for out in final)  # no final answer arrived


def test_the_stop_button_is_wired_to_cancel_the_ask(slow_app):
    config = slow_app[0].demo.config
    [ask_dep] = [d for d in config["dependencies"] if d.get("api_name") == "ask"]
    box = ask_dep["targets"][0][0]
    stops = [d for d in config["dependencies"] if [box, "stop"] in [list(t) for t in d["targets"]]]
    assert any(ask_dep["id"] in d["cancels"] for d in stops), stops
