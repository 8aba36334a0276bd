"""Benchmark: image ingest throughput (decode + thumbnail + CLIP + OCR + store) vs CLIP forward alone.

Uses real photos from the evalpack (COCO-mini) plus rendered text images (slides), so OCR's
skip-on-no-text path and its full path are both exercised. CLIP is ViT-B-32 with random weights
(same architecture and cost as the pretrained one; weights are not on this machine).
Usage: python benchmarks/bench_images.py [--n 48] [--no-ocr]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mmrag import Ingestor, Library  # noqa: E402
from mmrag.evals import evalpack_dir  # noqa: E402
from mmrag.images import open_image  # noqa: E402


def make_corpus(folder: Path, n: int) -> list[Path]:
    photos = sorted((evalpack_dir() / "images" / "coco_mini").glob("*.jpg"))[: n - n // 4]
    paths = []
    for p in photos:
        dest = folder / p.name
        dest.write_bytes(p.read_bytes())
        paths.append(dest)
    for i in range(n // 4):
        img = Image.new("RGB", (1024, 576), "white")
        ImageDraw.Draw(img).text((60, 200), f"Slide {i}: revenue grew {i + 3}%", fill="black",
                                 font=ImageFont.load_default(size=56))
        dest = folder / f"slide{i}.png"
        img.save(dest)
        paths.append(dest)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=48)
    ap.add_argument("--no-ocr", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mmrag-bench-img-"))
    (work / "imgs").mkdir()
    paths = make_corpus(work / "imgs", args.n)
    lib = Library(work / "lib", text_encoder="minilm", image_encoder="clip-vit-b-32",
                  image_encoder_params={"allow_random": True})
    lib.config.ocr = not args.no_ocr
    clip, _ = lib.encoder("clip"), lib.encoder("text")
    clip.encode([Image.new("RGB", (224, 224))])  # warm up
    t = time.perf_counter()
    report = Ingestor(lib, progress=False).run([work / "imgs"])
    ingest_s = time.perf_counter() - t
    decoded = [open_image(p.read_bytes(), 10**8) for p in paths]
    t = time.perf_counter()
    clip.encode(decoded)
    clip_s = time.perf_counter() - t
    n_ok = report.count("ok")
    res = {"machine": f"{platform.machine()}, {platform.python_version()}", "images": n_ok,
           "ocr": not args.no_ocr, "ocr_text_records": lib.store.count_records(["text"]),
           "ingest_images_per_s": round(n_ok / ingest_s, 2), "clip_alone_images_per_s": round(len(decoded) / clip_s, 2),
           "ingest_vs_clip": round((n_ok / ingest_s) / (len(decoded) / clip_s), 3)}
    lib.close()
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
