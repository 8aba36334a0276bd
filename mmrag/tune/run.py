"""`mmrag tune`: fine-tune a space's encoder on the library's own pairs, save it as a new version of the
space, re-embed the space with it and make it serve (`mmrag.core.versions`); `restore` switches back.

Examples: each pair's positive, hard negatives mined from the library's default (fused) search, skipping
the positive and its own source (other parts of one document often answer too), plus negatives the user
gave or marked wrong in the app. Distillation: the fused ranking is the teacher; its score margin between
the positive and the first negative (clipped to [0, 1]) is the target of a margin loss
(`encoders.tuning`). Training runs outside the write lock; staging the new vectors and the swap take it.
"""
from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from tqdm import tqdm

from encoders import create_encoder
from encoders.tuning import Example, TrainConfig, train

from ..core import Collection, versions
from ..errors import ConfigError, MmragError
from ..ingest.reindex import record_input
from ..kinds import SpaceInput
from ..retrieval import search
from .pairs import Pair, feedback_pairs

log = logging.getLogger(__name__)
MINE_K = 10


@dataclass
class TuneReport:
    space: str
    version: int
    pairs: dict[str, int]
    examples: int
    train: dict
    embedded: int
    seconds: float
    synthetic: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _positive(c: Collection, space: str, pair: Pair) -> tuple[Any, int | None, str | None]:
    """(what the document tower reads, record id, source) for a pair's positive."""
    image_space = c.space(space).input == SpaceInput.IMAGE
    if pair.id is not None:
        rec = c.store.get_records([pair.id]).get(pair.id)
        if rec is None:
            raise ConfigError(f"pair {pair.query!r}: record id {pair.id} is not in the library")
        return record_input(c, space, rec), int(rec.id), rec.source
    if pair.image is not None:
        from PIL import Image
        with Image.open(pair.image) as im:
            return im.convert("RGB"), None, pair.image
    if image_space:
        raise ConfigError(f"pair {pair.query!r}: space {space!r} embeds images; give \"image\" or \"id\"")
    return pair.positive, None, None


def _example(c: Collection, space: str, pair: Pair, wrong: set[int], distill: bool) -> Example:
    positive, pid, psource = _positive(c, space, pair)
    hits = search(c, pair.query, k=MINE_K, modality=c.space(space).modalities)
    scores = {int(h.record.id): h.score for h in hits}
    negatives: list[Any] = list(pair.negatives)
    first_neg: int | None = None
    picked = [h for h in hits if int(h.record.id) in wrong] + \
        [h for h in hits if int(h.record.id) != pid and h.record.source != psource and h.record.text != positive]
    for h in picked[:1]:
        first_neg = int(h.record.id)
        negatives.append(record_input(c, space, h.record))
    margin = None
    if distill and pid in scores and first_neg in scores and not pair.negatives:
        margin = min(1.0, max(0.0, scores[pid] - scores[first_neg]))
    return Example(query=pair.query, positive=positive, negatives=negatives, margin=margin)


def examples_for(c: Collection, space: str, pairs: Sequence[Pair], wrong: dict[str, set[int]],
                 distill: bool = True, progress: bool | None = None) -> list[Example]:
    """Training examples with mined hard negatives; pairs whose positive cannot be read are skipped."""
    out = []
    for pair in tqdm(pairs, desc="mine negatives", unit="pair",
                     disable=not (sys.stderr.isatty() if progress is None else progress)):
        try:
            out.append(_example(c, space, pair, wrong.get(pair.query, set()), distill))
        except (MmragError, OSError) as exc:
            log.warning("skipping pair %r: %s", pair.query, exc)
    return out


def stage(c: Collection, space: str, version: int, batch: int = 64, progress: bool | None = None) -> int:
    """Embed the space's records with `version` into its staged vectors (only those still missing)."""
    cfg = c.space(space)
    encoder = create_encoder(cfg.encoder, **versions.encoder_params(c.root, c.store, space, cfg.encoder_params, version))
    name = versions.staged(space, version)
    have = set(c.store.vector_ids(name).tolist())
    todo = [i for i in c.store.filter_ids(cfg.modalities).tolist() if i not in have]
    done = 0
    for start in tqdm(range(0, len(todo), batch), desc=f"embed {space} v{version}", unit="batch",
                      disable=not (sys.stderr.isatty() if progress is None else progress)):
        ids, inputs = [], []
        for rec in c.store.get_records(todo[start:start + batch]).values():
            try:
                inputs.append(record_input(c, space, rec))
                ids.append(int(rec.id))
            except (MmragError, OSError) as exc:
                log.error("%s: cannot re-read for space %s: %s", rec.source, space, exc)
        if ids:
            vecs = encoder.encode(inputs)
            with c.store.transaction():
                c.store.put_vectors(name, ids, vecs)
            done += len(ids)
    return done


def activate(c: Collection, space: str, version: int, progress: bool | None = None) -> int:
    """Make `version` serve: stage what it lacks, swap (one transaction), rebuild and save the index."""
    if version not in versions.saved_versions(c.root, space):
        raise ConfigError(f"space {space!r} has no version {version}; saved: {versions.saved_versions(c.root, space)}")
    with c.writing():
        embedded = stage(c, space, version, progress=progress) if version != versions.serving(c.store, space) else 0
        versions.swap(c.store, space, version)
        c.discard_indexes()
        c.index(space)
        c.mark_dirty(space)
        c.flush()
    log.info("space %s: version %d serves (%d records embedded)", space, version, embedded)
    return embedded


def tune(c: Collection, pairs: Sequence[Pair], space: str = "text", config: TrainConfig | None = None,
         use_feedback: bool = True, distill: bool = True, progress: bool | None = None,
         synthetic: dict | None = None) -> TuneReport:
    """Fine-tune the serving encoder of `space` on `pairs` (+ feedback), save and activate a new version."""
    t0 = time.perf_counter()
    base = c.encoder(space)
    if not hasattr(base, "towers"):
        raise ConfigError(f"space {space!r}: encoder {c.space(space).encoder!r} cannot be tuned here; "
                          "tunable: the transformers text models (minilm) and OpenCLIP models")
    fb_pairs, wrong = feedback_pairs(c) if use_feedback else ([], {})
    every = [*pairs, *fb_pairs]
    examples = examples_for(c, space, every, wrong, distill, progress)
    if len(examples) < 2:
        raise ConfigError(f"tuning needs at least 2 usable pairs; got {len(examples)} of {len(every)}")
    config = config or TrainConfig()
    towers = base.towers(max_length=config.max_length)
    report = train(towers, examples, config, progress=progress)
    version = versions.next_version(c.root, space)
    folder = versions.model_dir(c.root, space, version)
    tmp = folder.with_name(folder.name + ".tmp")
    towers.save(tmp)
    tmp.rename(folder)  # a version exists only once its model is complete
    embedded = activate(c, space, version, progress)
    return TuneReport(space=space, version=version, pairs=dict(Counter(p.origin for p in every)),
                      examples=len(examples), train=report.to_dict(), embedded=embedded,
                      seconds=round(time.perf_counter() - t0, 1), synthetic=synthetic or {})


def version_table(c: Collection, space: str) -> list[dict]:
    """Each saved version of the space: its number, folder, and whether it serves."""
    now = versions.serving(c.store, space)
    return [{"version": v, "serving": v == now,
             "model": "library.json encoder" if v == 1 else str(Path(versions.model_dir(c.root, space, v)))}
            for v in versions.saved_versions(c.root, space)]
