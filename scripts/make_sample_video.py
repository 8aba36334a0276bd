"""Make the demo corpus's video: samples/corpus/lighthouse-keeper.mp4 (20 s, 4 scenes, spoken lines).

Speech comes from espeak-ng, frames are drawn with numpy, PyAV muxes them (the same helpers as the
video tests). The file is committed; rerun this only to change it:
    python scripts/make_sample_video.py [OUT]
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.mmrag.video import media  # noqa: E402 - after the path tweak

LINES = [(1.0, "The keeper climbs the stairs of the lighthouse."),
         (6.5, "A storm is coming in from the sea."),
         (12.0, "Now the keeper turns the light on.")]


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "samples" / "corpus" / "lighthouse-keeper.mp4"
    audio, spans = media.place_speech(20.0, [(t, media.espeak(text)) for t, text in LINES])
    media.write_video(out, media.scenes(4, 5.0, 8.0), fps=8.0, audio=audio)
    for (t0, t1), (_, text) in zip(spans, LINES):
        print(f"{t0:5.1f}-{t1:5.1f} s  {text}")
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
