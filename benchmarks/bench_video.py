"""Benchmark: video indexing speed as a multiple of real time (video seconds per wall-clock second).

Stages, each timed alone on the same files, then the whole ingest (keyframes + CLIP + ASR + store):
  decode   baseline: OpenCV decodes and converts every frame (what any frame-level indexer pays)
  keyframes          mmrag.video.keyframes (grab every frame, analyse 4/s, keep ~1/s)
  clip               OpenCLIP ViT-B-32 on the keyframes and segment frames (random weights: the real
                     architecture and cost; no pretrained weights on this machine)
  asr                PyAV audio decoding + faster-whisper tiny.en (int8, VAD)
  ingest             Ingestor.run into a fresh library (MiniLM text space, random-weight CLIP, Whisper)
Files: the two Charades videos of the evalpack (62 s, little speech) and a generated 60 s video with an
espeak-ng phrase every 8 s (needs espeak-ng), so ASR is measured on speech too.
Usage: nice -n 10 python benchmarks/bench_video.py [--no-speech] [--threads N]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mmrag import Ingestor, Library  # noqa: E402
from mmrag.evals import evalpack_dir  # noqa: E402
from mmrag.video.keyframes import extract_keyframes  # noqa: E402
from mmrag.video.probe import probe  # noqa: E402
from mmrag.video.reader import keyframe_options  # noqa: E402

PHRASES = ["Welcome to the quarterly planning review.", "Revenue grew twelve percent in the third quarter.",
           "The new warehouse opens in Rotterdam next spring.", "Please send your slides before Friday.",
           "Our main risk is the shipping delay from Asia.", "Hiring is on track for the support team.",
           "The budget for marketing stays the same."]


def speech_video(folder: Path) -> Path | None:
    if shutil.which("espeak-ng") is None:
        print("espeak-ng missing: the speech video is left out", file=sys.stderr)
        return None
    from tests.mmrag.video import media
    audio, _ = media.place_speech(60.0, [(1.0 + 8 * i, media.espeak(p)) for i, p in enumerate(PHRASES)])
    frames = media.scenes(6, 10.0, 25.0, size=(480, 270))
    return media.write_video(folder / "planning.mp4", frames, fps=25.0, audio=audio)


def decode_all(path: Path) -> int:
    import cv2
    cap, n = cv2.VideoCapture(str(path)), 0
    while True:
        ok, _ = cap.read()
        if not ok:
            break
        n += 1
    cap.release()
    return n


def timed(fn, *args):  # noqa: ANN001, ANN201
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def stages(paths: list[Path], lib: Library) -> dict[str, float]:
    from encoders.speech import SpeechRecognizer
    clip, asr = lib.encoder("clip"), SpeechRecognizer(lib.config.asr_model)
    asr.model  # noqa: B018 - load before timing
    secs = {"decode": 0.0, "keyframes": 0.0, "clip": 0.0, "asr": 0.0}
    for p in paths:
        secs["decode"] += timed(decode_all, p)[1]
        res, s = timed(extract_keyframes, p, probe(p), keyframe_options(lib.config))
        secs["keyframes"] += s
        images = [k.image for k in res.keyframes]
        secs["clip"] += timed(clip.encode, images + images[: max(1, len(images) // 10)])[1]  # + segment frames
        secs["asr"] += timed(asr.transcribe_file, p)[1]
    return secs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-speech", action="store_true")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="mmrag-bench-video-"))
    paths = [evalpack_dir() / "video" / f"{v}.mp4" for v in ("3MSZA", "Y1HGC")]
    if not args.no_speech and (p := speech_video(work)) is not None:
        paths.append(p)
    video_s = sum(probe(p).duration or 0.0 for p in paths)
    lib = Library(work / "lib", text_encoder="minilm", image_encoder="clip-vit-b-32",
                  image_encoder_params={"allow_random": True})
    lib.encoder("text").encode(["warm up"])
    secs = stages(paths, lib)
    report, ingest_s = timed(Ingestor(lib, progress=False).run, paths)
    counts = lib.store.counts()["records"]
    lib.close()
    res = {"machine": f"{platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}",
           "load_avg_1m": round(os.getloadavg()[0], 2), "files": [p.name for p in paths], "video_s": round(video_s, 1),
           "ingested_ok": report.count("ok"), "records": counts,
           "seconds": {k: round(v, 2) for k, v in {**secs, "ingest": ingest_s}.items()},
           "x_realtime": {k: round(video_s / v, 2) for k, v in {**secs, "ingest": ingest_s}.items() if v > 0},
           "keyframes_vs_decode_baseline": round(secs["decode"] / secs["keyframes"], 2),
           "ingest_vs_decode_baseline": round(secs["decode"] / ingest_s, 3)}
    print(json.dumps(res, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
