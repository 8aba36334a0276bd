"""`mmrag eval moments --dataset charades|qvhighlights`: moment retrieval over the evalpack's videos.

The videos of the dataset that are present in `<evalpack>/video/` (`<vid>.mp4`) are ingested into a
temporary library (MiniLM text space, the default CLIP space, Whisper transcripts), each query runs
through `find_moments(k=10)`, and the windows are scored with the QVHighlights metrics
(mmrag.evals.moment_metrics): R1@0.5, R1@0.7, mIoU, plus mAP@0.5/0.75 and mAP@[0.5:0.95] for QVHighlights.
Two baselines run in the same process: the whole video as the window, and uniformly random windows
(mean over RANDOM_DRAWS draws). A query for which mmrag finds no moment counts as IoU 0 (and AP 0).

For QVHighlights the metric code is also checked against real numbers: the Moment-DETR val predictions
in the evalpack are scored and compared with the authors' metrics file.
"""
from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from . import evalpack_dir, register_eval
from .moment_metrics import eval_moments

log = logging.getLogger(__name__)
RANDOM_DRAWS = 50
DATASETS = {
    "charades": {"test": "charades_test_release.jsonl"},
    "qvhighlights": {"val": "highlight_val_release.jsonl", "test": "highlight_test_with_gt.jsonl"},
}
MOMENT_DETR = ("inference_hl_val_test_code_preds.jsonl", "inference_hl_val_test_code_preds_metrics.json")


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def metric_check(folder: Path) -> dict[str, Any]:
    """Score the Moment-DETR val predictions and compare every number with the authors' metrics file."""
    preds, gt = _jsonl(folder / MOMENT_DETR[0]), _jsonl(folder / DATASETS["qvhighlights"]["val"])
    ours = eval_moments(preds, gt)
    theirs = json.loads((folder / MOMENT_DETR[1]).read_text())
    diffs = []

    def walk(a: Any, b: Any, path: str) -> None:
        if isinstance(b, dict):
            for key in b:
                walk(a.get(key) if isinstance(a, dict) else None, b[key], f"{path}/{key}")
        else:
            diffs.append((path, abs(a - b) if isinstance(a, (int, float)) else float("inf")))

    walk(ours, theirs, "")
    worst = max(diffs, key=lambda x: x[1])
    return {"predictions": MOMENT_DETR[0], "numbers_compared": len(diffs),
            "matches_authors_to_2_decimals": worst[1] < 0.005, "max_abs_diff": round(worst[1], 4),
            "worst": worst[0], "ours": ours["brief"], "authors": theirs["brief"]}


def _baselines(rows: list[dict], qvh: bool) -> dict[str, Any]:
    whole = [{"qid": r["qid"], "pred_relevant_windows": [[0.0, float(r["duration"]), 1.0]]} for r in rows]
    rng = np.random.default_rng(0)
    draws = []
    for _ in range(RANDOM_DRAWS):
        preds = []
        for r in rows:
            ends = np.sort(rng.uniform(0.0, float(r["duration"]), size=(10, 2)), axis=1)
            preds.append({"qid": r["qid"], "pred_relevant_windows": [[a, b, 1.0 - i / 10] for i, (a, b) in
                                                                     enumerate(ends.tolist())]})
        draws.append(_summary(eval_moments(preds, rows, buckets=False), qvh))
    rand = {k: round(float(np.mean([d[k] for d in draws])), 2) for k in draws[0]}
    return {"whole_video": _summary(eval_moments(whole, rows, buckets=False), qvh), "random_windows": rand}


def _summary(res: dict, qvh: bool) -> dict[str, float]:
    b = res["brief"]
    out = {"R1@0.5": b["MR-full-R1@0.5"], "R1@0.7": b["MR-full-R1@0.7"], "mIoU": b["MR-full-mIoU"]}
    if qvh:
        out.update({"mAP@0.5": b["MR-full-mAP@0.5"], "mAP@0.75": b["MR-full-mAP@0.75"], "mAP": b["MR-full-mAP"]})
    return out


def _run_mmrag(rows: list[dict], videos: list[Path], predictions: str | None) -> dict[str, Any]:
    from ..ingest import Ingestor
    from ..library import Library
    from ..video import available_signals, find_moments
    with tempfile.TemporaryDirectory(prefix="mmrag-eval-moments-") as tmp, Library(Path(tmp) / "lib") as lib:
        t0 = time.perf_counter()
        report = Ingestor(lib, progress=False).run(videos)
        index_s = time.perf_counter() - t0
        video_s = sum(float(r["duration"]) for r in {r["vid"]: r for r in rows}.values())
        preds, empty, t1 = [], 0, time.perf_counter()
        for r in rows:
            moments = find_moments(lib, str(videos_by(videos)[r["vid"]]), r["query"], k=10)
            empty += not moments
            preds.append({"qid": r["qid"], "query": r["query"], "vid": r["vid"],
                          "pred_relevant_windows": [[m.t_start, m.t_end, round(m.score, 4)] for m in moments]})
        query_s = time.perf_counter() - t1
        signals = {v.stem: available_signals(lib, str(v)) for v in videos}
        clip_ok = lib.available("clip") if "clip" in lib.spaces else False
    if predictions:
        Path(predictions).write_text("".join(json.dumps(p) + "\n" for p in preds))
    return {"preds": preds, "empty": empty, "signals": signals, "clip_available": clip_ok,
            "ingest": report.to_dict()["counts"], "index_s": index_s, "video_s": video_s, "query_s": query_s}


def videos_by(videos: list[Path]) -> dict[str, Path]:
    return {v.stem: v for v in videos}


def _note(clip_ok: bool, dataset: str) -> str:
    if clip_ok:
        return "CLIP keyframe similarity and transcripts (dense + BM25) rank the moments."
    return ("CLIP is unavailable (no weights on this machine): moments are ranked from transcripts alone (dense +"
            " BM25). " + ("Charades clips have no speech describing the actions, so these numbers measure the"
                          " transcript-only fallback, not visual grounding; compare them with the baselines."
                          if dataset == "charades" else "Compare them with the baselines."))


@register_eval("moments")
def moments(dataset: str = "charades", split: str | None = None, limit: int | None = None, offset: int | None = None,
            predictions: str | None = None) -> dict[str, Any]:
    if dataset not in DATASETS:
        raise ConfigError(f"unknown dataset {dataset!r} for eval moments; valid: {', '.join(DATASETS)}")
    split = split or next(iter(DATASETS[dataset]))
    if split not in DATASETS[dataset]:
        raise ConfigError(f"dataset {dataset} has no split {split!r}; valid: {', '.join(DATASETS[dataset])}")
    folder = evalpack_dir() / "video"
    t0 = time.perf_counter()
    all_rows = _jsonl(folder / DATASETS[dataset][split])
    present = {p.stem: p for p in folder.glob("*.mp4")}
    rows = [r for r in all_rows if r["vid"] in present][offset or 0:][:limit]
    out: dict[str, Any] = {"eval": "moments", "dataset": dataset, "split": split,
                           "videos_available": len({r["vid"] for r in rows}),
                           "videos_in_split": len({r["vid"] for r in all_rows}), "queries": len(rows)}
    qvh = dataset == "qvhighlights"
    if qvh:
        out["metric_check"] = metric_check(folder)
    if not rows:
        out["note"] = f"none of the {dataset} {split} videos is in {folder}; only the metric check ran"
        out["seconds"] = round(time.perf_counter() - t0, 1)
        return out
    run = _run_mmrag(rows, sorted({present[r["vid"]] for r in rows}), predictions)
    out.update({"clip_available": run["clip_available"], "signals": run["signals"], "note": _note(
        run["clip_available"], dataset), "no_moment_found": run["empty"], "ingest": run["ingest"],
        "mmrag": _summary(eval_moments(run["preds"], rows, buckets=False), qvh), **_baselines(rows, qvh),
        "index_x_realtime": round(run["video_s"] / run["index_s"], 2),
        "query_ms_mean": round(1000 * run["query_s"] / len(rows), 1), "seconds": round(time.perf_counter() - t0, 1)})
    return out
