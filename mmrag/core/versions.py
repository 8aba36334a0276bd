"""Versions of a space's encoder: version 1 is library.json's encoder, later ones are tuned copies
(`mmrag tune`) saved under `<library>/models/<space>/v<N>/`.

The store says which version serves (meta `space_version:<space>`) and keeps the vectors of the others
under `<space>~v<N>`, so switching back is a rename, not a re-embedding. New vectors are staged under
`<space>~v<N>` while the space keeps serving, then one transaction swaps the names, records the version
and bumps the space's *epoch*; an index built under another epoch is rebuilt from the store
(`mmrag.core.indexing`), in this process and in every reader. A crash before the swap leaves the old
version serving and the staged vectors to finish later.
"""
from __future__ import annotations

from pathlib import Path

from .store import Store

MODELS_DIR = "models"


def version_key(space: str) -> str:
    return f"space_version:{space}"


def epoch_key(space: str) -> str:
    return f"space_epoch:{space}"


def staged(space: str, version: int) -> str:
    """Where the vectors of a version that does not serve are kept."""
    return f"{space}~v{version}"


def is_staged_name(space: str) -> bool:
    return "~v" in space


def serving(store: Store, space: str) -> int:
    return int(store.get_meta(version_key(space)) or 1)


def epoch(store: Store, space: str) -> int:
    return int(store.get_meta(epoch_key(space)) or 0)


def model_dir(root: Path, space: str, version: int) -> Path:
    return root / MODELS_DIR / space / f"v{version}"


def saved_versions(root: Path, space: str) -> list[int]:
    """Version 1 and every tuned version whose model folder exists."""
    base = root / MODELS_DIR / space
    found = [int(d.name[1:]) for d in base.glob("v*") if d.name[1:].isdigit()] if base.is_dir() else []
    return sorted({1, *found})


def next_version(root: Path, space: str) -> int:
    return max(saved_versions(root, space)) + 1


def encoder_params(root: Path, store: Store, space: str, params: dict, version: int | None = None) -> dict:
    """The encoder parameters of `version` (default: the serving one): a tuned version loads from its folder."""
    version = serving(store, space) if version is None else version
    return params if version == 1 else {**params, "path": str(model_dir(root, space, version))}


def swap(store: Store, space: str, version: int) -> None:
    """Make `version` (its vectors staged under `staged(space, version)`) serve; the old one is staged."""
    old = serving(store, space)
    if old == version:
        return
    with store.transaction():
        store.move_vectors(space, staged(space, old))
        store.move_vectors(staged(space, version), space)
        store.set_meta(version_key(space), str(version))
        store.set_meta(epoch_key(space), str(epoch(store, space) + 1))
        store.bump_generation()
