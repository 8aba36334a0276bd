"""Recovering from a writer that died (kill -9, power loss) in the middle of a run.

A run marks the store (`RUNNING`) while it stores things outside SQLite (DuckDB tables, thumbnails).
Whoever next opens the library and finds the mark with no writer holding the lock removes what no
committed record references (the hooks' sweepers) and brings the vector indexes up to date.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import Any, Iterator

from ..errors import LibraryBusyError
from . import hooks

log = logging.getLogger(__name__)
RUNNING = "ingest_running"  # store meta key: set while a run writes (a writer that dies leaves it set)


def recover(c: Any) -> None:
    """After a writer died: sweep its leftovers and save up-to-date indexes. Only when no other process
    is writing (else that writer's run is simply in progress)."""
    if not c.store.get_meta(RUNNING):
        return
    try:
        with c.writing():  # saves the indexes loaded here when it ends
            if not c.store.get_meta(RUNNING):
                return
            log.warning("the last write to %s did not finish; removing what it left half-done", c.root)
            hooks.sweep(c)
            for space in c.spaces:
                if c.store.vector_dim(space):
                    c.index(space)  # loading reconciles an index that lags the store
            with c.transaction():
                c.store.delete_meta(RUNNING)
    except LibraryBusyError:
        return


@contextmanager
def running(c: Any) -> Iterator[None]:
    """Mark the store for the length of a write run."""
    with c.transaction():
        c.store.set_meta(RUNNING, str(time.time()))
    yield
    with c.transaction():
        c.store.delete_meta(RUNNING)
