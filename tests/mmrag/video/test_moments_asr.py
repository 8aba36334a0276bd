"""The must-hold moment test: a generated video with espeak-ng speech at known times, the real Whisper
tiny.en and MiniLM, `mmrag moments` finds the spoken phrase's window (IoU >= 0.5); search and eval plumbing."""
import json

import pytest

from mmrag import Ingestor, Library
from mmrag.cli import main
from mmrag.video.proposals import tiou

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def speech_lib(tmp_path_factory, speech_video, whisper, minilm):
    """A library (MiniLM text space; CLIP weights absent here) holding the speech video."""
    root = tmp_path_factory.mktemp("speech-lib") / "lib"
    with Library(root, text_encoder="minilm") as lib:
        report = Ingestor(lib).run([speech_video[0]])
        assert report.count("ok") == 1, report.to_dict()
    return root


def _moments(capsys, root, video, query, *extra):
    assert main(["moments", str(video), query, "--json", "--library", str(root), *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_transcript_lines_are_timed_records(speech_lib, speech_video):
    path, spans = speech_video
    with Library(speech_lib) as lib:
        ids = lib.store.filter_ids(["text"]).tolist()
        lines = sorted(lib.store.get_records(ids).values(), key=lambda r: r.locator["t_start"])
        assert len(lines) >= 2 and all(r.meta["kind"] == "transcript" and r.source == str(path) for r in lines)
        said = " ".join(r.text.lower() for r in lines)
        assert "elephant" in said and "morning" in said
        elephant = next(r for r in lines if "elephant" in r.text.lower())
        assert tiou((elephant.locator["t_start"], elephant.locator["t_end"]), spans[1]) >= 0.5
        assert lib.status()["spaces"]["text"]["vectors"] == len(lines)


@pytest.mark.parametrize("query,phrase", [("purple elephant dancing on a bridge", 1),
                                          ("when does the weekly meeting start", 0)])
def test_cli_moments_finds_the_spoken_phrase(capsys, speech_lib, speech_video, query, phrase):
    path, spans = speech_video
    out = _moments(capsys, speech_lib, path, query, "--k", "3")
    assert out["signals"] == ["dense", "bm25"] and out["video"] == str(path)
    top = out["moments"][0]
    assert tiou((top["t_start"], top["t_end"]), spans[phrase]) >= 0.5, (out, spans)
    assert top["evidence"][0]["kind"] == "transcript"
    assert any(tiou((e["t_start"], e["t_end"]), spans[phrase]) >= 0.5 for e in top["evidence"][:1])
    assert all(tiou((a["t_start"], a["t_end"]), (b["t_start"], b["t_end"])) <= 0.5
               for i, a in enumerate(out["moments"]) for b in out["moments"][i + 1:])


def test_cli_text_output_and_name_lookup(capsys, speech_lib, speech_video):
    assert main(["moments", speech_video[0].name, "purple elephant", "--library", str(speech_lib)]) == 0
    text = capsys.readouterr().out
    assert "signals: dense, bm25" in text and " 1. " in text and "elephant" in text.lower()
    assert main(["moments", "nope.mp4", "x", "--library", str(speech_lib)]) == 2
    assert "not in the library" in capsys.readouterr().err


def test_search_returns_moments_not_lines(speech_lib, speech_video):
    with Library(speech_lib) as lib:
        hits = lib.search("purple elephant", k=5)
        lines = lib.search("purple elephant", k=5, modality="text")
    top = hits[0].record
    assert top.modality == "video" and top.meta["kind"] == "moment" and "elephant" in top.text.lower()
    assert tiou((top.locator["t_start"], top.locator["t_end"]), speech_video[1][1]) >= 0.5
    assert hits[0].retrievers == {"dense:text": 1, "bm25": 1}
    spans = [(h.record.locator["t_start"], h.record.locator["t_end"]) for h in hits]
    assert len(hits) == 2 and len(set(spans)) == 2  # one hit per moment: two phrases, two moments
    assert all(h.record.meta["kind"] == "transcript" and h.record.modality == "text" for h in lines)


def test_modality_video_finds_speech_as_moments(speech_lib, speech_video):
    with Library(speech_lib) as lib:
        hits = lib.search("purple elephant", k=5, modality="video")
    assert hits and all(h.record.modality == "video" and h.record.meta["kind"] == "moment" for h in hits)
    top = hits[0].record
    assert "elephant" in top.text.lower() and hits[0].retrievers.get("bm25") == 1
    assert tiou((top.locator["t_start"], top.locator["t_end"]), speech_video[1][1]) >= 0.5
