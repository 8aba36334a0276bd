"""Fill an embedding space later: embed the records that have no vector in it yet.

Used when a model was unavailable at ingest time (e.g. CLIP weights arrived later):
`mmrag reindex --space clip` re-reads only the images, not the other data.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..library import Library
from ..records import Record
from .images import open_image
from ..video.probe import VideoError
from .readers import IngestError

log = logging.getLogger(__name__)


def _input(lib: Library, space: str, rec: Record) -> Any:
    """What the space's encoder reads from `rec`: its text, the image file, or a video frame."""
    if lib.spaces[space].input != "image":
        return rec.text
    if rec.modality == "video":
        from ..video.keyframes import record_image
        return record_image(rec)
    return open_image(Path(rec.source).read_bytes(), lib.config.max_image_pixels)


def reindex(lib: Library, space: str, batch: int = 32, progress: bool | None = None) -> dict[str, Any]:
    """Embed every record of the space's modalities that lacks a vector there; returns counts."""
    if space not in lib.spaces:
        raise KeyError(f"unknown space {space!r}; spaces: {', '.join(lib.spaces)}")
    encoder = lib.encoder(space)  # raises ModelUnavailableError with the reason
    have = set(lib.store.vector_ids(space).tolist())
    todo = [i for i in lib.store.filter_ids(lib.spaces[space].modalities).tolist() if i not in have]
    done, failed = 0, []
    bar = tqdm(total=len(todo), desc=f"reindex {space}", unit="rec",
               disable=not (sys.stderr.isatty() if progress is None else progress))
    with lib.writing():
        index = lib.index(space)
        for start in range(0, len(todo), batch):
            ids, inputs = [], []
            for rec in lib.store.get_records(todo[start:start + batch]).values():
                try:
                    inputs.append(_input(lib, space, rec))
                    ids.append(int(rec.id))
                except (IngestError, VideoError, OSError) as exc:
                    log.error("%s: cannot re-read for space %s: %s", rec.source, space, exc)
                    failed.append({"id": rec.id, "source": rec.source, "error": str(exc)})
            if ids:
                vecs = encoder.encode(inputs)
                with lib.transaction():
                    lib.store.put_vectors(space, ids, vecs)
                    lib.store.bump_generation()
                    index.add(vecs, np.array(ids, dtype=np.int64))
                lib.mark_dirty(space)
                done += len(ids)
            bar.update(len(todo[start:start + batch]))
    bar.close()
    return {"space": space, "embedded": done, "failed": failed, "already": len(have)}
