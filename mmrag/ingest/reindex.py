"""Embed records that a space is still missing (e.g. the CLIP weights arrived later):
`mmrag reindex --space clip` re-reads only those records' inputs (through each modality's
record-input hook: the image file, a video frame), not the other data.
"""
from __future__ import annotations

import logging
import sys
from typing import Any

import numpy as np
from tqdm import tqdm

from ..core import Collection, HasCollection, as_collection, hooks
from ..errors import MmragError
from ..kinds import SpaceInput
from ..records import Record

log = logging.getLogger(__name__)


def record_input(lib: Collection, space: str, rec: Record) -> Any:
    """What the space's encoder reads from `rec`: its text, or its pixels read again."""
    if lib.spaces[space].input != SpaceInput.IMAGE:
        return rec.text
    return hooks.record_input(lib, rec)


def reindex(library: Collection | HasCollection, space: str, batch: int = 32,
            progress: bool | None = None) -> dict[str, Any]:
    """Embed every record of the space's modalities that lacks a vector there; returns counts."""
    lib = as_collection(library)
    lib.space(space)  # UnknownNameError naming the spaces
    encoder = lib.encoder(space)  # ModelMissingError with the reason
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
                    inputs.append(record_input(lib, space, rec))
                    ids.append(int(rec.id))
                except (MmragError, OSError) as exc:
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
