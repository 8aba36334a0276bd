"""Evidence blocks by modality, and deduplication of hits."""
from __future__ import annotations

from types import SimpleNamespace

from PIL import Image

from mmrag.answer.evidence import dedupe_hits, number_evidence, render_block
from mmrag.records import Evidence, Hit, Record


def _hit(rid: int, modality: str, text: str, source: str = "/d/a.txt", **meta) -> Hit:
    return Hit(Record(modality, source, {"char_start": 0}, text, meta=meta, id=rid), 1.0 / rid)


def test_dedupe_keeps_order_and_folds_ocr_into_its_image():
    hits = [_hit(1, "text", "Same words here."), _hit(2, "image", "image: receipt", "/d/r.jpg"),
            _hit(1, "text", "Same words here."), _hit(3, "text", "same words, here", "/d/b.txt"),
            _hit(4, "text", "ESPRESSO 2.40", "/d/r.jpg", view_of="image"), _hit(5, "text", "Other.")]
    kept = dedupe_hits(hits)
    assert [h.record.id for h in kept] == [1, 2, 5]
    assert [e.n for e in number_evidence(kept, start=2)] == [2, 3, 4]


def test_video_moment_block_gives_keyframes_as_pixels_to_a_vlm(tmp_path):
    thumbs = tmp_path / "thumbs"
    thumbs.mkdir()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(thumbs / "k1.jpg")
    meta = {"kind": "moment", "thumbnail": "thumbs/k1.jpg",
            "evidence": [{"kind": "transcript", "text": "turn the light on"},
                         {"kind": "keyframe", "t": 25.0, "thumbnail": "thumbs/k1.jpg"}]}
    rec = Record("video", "/v/3MSZA.mp4", {"t_start": 24.3, "t_end": 30.4}, "person turns a light on", meta=meta)
    lib = SimpleNamespace(root=tmp_path, store=None)
    vlm_block = render_block(Evidence(3, Hit(rec, 1.0)), lib, vision=True)
    assert vlm_block.header == "[3] video 3MSZA.mp4"  # the body says when
    assert len(vlm_block.images) == 1 and vlm_block.images[0].getpixel((5, 5))[0] > 150
    text_block = render_block(Evidence(3, Hit(rec, 1.0)), lib, vision=False)
    said = "From 24.3 to 30.4 s of the video: person turns a light on"
    assert text_block.images == [] and text_block.body == said  # frame times a text model cannot see are left out
    assert vlm_block.body == said + "\nKeyframes at 25.0 s"
    silent = Record("video", "/v/3MSZA.mp4", {"t_start": 24.3, "t_end": 30.4}, "", meta=meta)
    block = render_block(Evidence(4, Hit(silent, 1.0)), lib, vision=False)
    assert block.header == "[4] video 3MSZA.mp4 (24.3-30.4 s)" and block.body == "(no speech in this part)"


def test_image_block_for_text_models_has_metadata(tmp_path):
    rec = Record("image", "/p/cafe.jpg", {"width": 640, "height": 480}, "image: cafe receipt",
                 meta={"width": 640, "height": 480, "exif_date": "2024:05:01", "camera": "Pixel"})
    block = render_block(Evidence(1, Hit(rec, 1.0)), None, vision=False)
    assert block.header == "[1] image cafe.jpg (640x480, 2024:05:01, Pixel)" and block.body == "image: cafe receipt"
    assert block.images == []


def test_far_weaker_hits_are_left_out_of_the_evidence():
    from mmrag.answer.evidence import relevant_hits
    from mmrag.records import Hit, Record
    hits = [Hit(Record("text", f"/{i}.txt", {}, f"t{i}"), s) for i, s in enumerate([1.5, 0.9, 0.3, 0.1])]
    assert [h.score for h in relevant_hits(hits, 0.25)] == [1.5, 0.9]
    assert len(relevant_hits(hits, 0.0)) == 4  # off
    assert [h.score for h in relevant_hits(hits, 0.99, keep=2)] == [1.5, 0.9]  # the first `keep` stay
    flat = [Hit(h.record, -0.2) for h in hits]
    assert len(relevant_hits(flat, 0.25)) == 4  # no positive best score: nothing to compare with
