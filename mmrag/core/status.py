"""What `mmrag status` reports about a collection."""
from __future__ import annotations

from typing import Any

from encoders import encoder_status
from encoders.runtime import offline

from ..errors import ModelMissingError
from ..kinds import SourceStatus
from . import versions
from .config import SpaceConfig


def collection_status(c: Any, unavailable: dict[str, str]) -> dict:
    """Counts per modality and source status; per space its encoder, vectors, pending records and
    availability (`unavailable`: spaces whose encoder failed to load, and why); the files that failed."""
    counts = c.store.counts()
    failed = [{"path": s["path"], "status": s["status"], "error": s["error"]}
              for s in c.store.sources() if s["status"] not in (SourceStatus.OK, SourceStatus.DUPLICATE)]
    spaces = {}
    for name, cfg in c.spaces.items():
        pending = c.store.count_records(cfg.modalities) - counts["vectors"].get(name, 0)
        spaces[name] = {"encoder": cfg.encoder, "vectors": counts["vectors"].get(name, 0),
                        "modalities": cfg.modalities, "pending": max(pending, 0),
                        "version": versions.serving(c.store, name),
                        "versions": versions.saved_versions(c.root, name),
                        **encoder_status(cfg.encoder, **cfg.encoder_params)}
        if name in unavailable:
            spaces[name].update(available=False, reason=unavailable[name])
    return {"library": str(c.root), "records": counts["records"], "sources": counts["sources"],
            "spaces": spaces, "failed": failed}


def fail_fast_offline(cfg: SpaceConfig) -> None:
    """Offline, an encoder whose status check finds no weights cannot load: say so without importing
    its framework (open_clip + torch take seconds to import just to fail)."""
    if not offline():
        return
    st = encoder_status(cfg.encoder, **cfg.encoder_params)
    if st.get("available") is False:
        looked = "".join(f"\n  - {p}" for p in st.get("looked_in", []))
        raise ModelMissingError(f"weights for {cfg.encoder!r} not found (offline: HF_HUB_OFFLINE is set):"
                                f" {st.get('reason', '')}. Looked in:{looked}\n{st.get('hint', '')}".rstrip())
