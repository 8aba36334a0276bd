"""Reader plugins that misbehave on purpose (a library's `plugins` list imports this module):

* `.stuck`: never returns (a decoder caught in a loop);
* `.hog`: allocates memory until it is stopped (a decompression bomb in a format mmrag does not know);
* `.crash`: kills its own process, as a segfaulting C decoder would.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from mmrag.core.readers import Document, ReadContext, register_reader


@register_reader((".stuck",), "text")
def read_stuck(path: Path, data: bytes, ctx: ReadContext) -> Document:
    while True:
        time.sleep(0.05)


@register_reader((".hog",), "text")
def read_hog(path: Path, data: bytes, ctx: ReadContext) -> Document:
    blocks = []
    while True:
        blocks.append(b"\x01" * (64 << 20))  # filled, so it is resident
        time.sleep(0.01)


@register_reader((".crash",), "text")
def read_crash(path: Path, data: bytes, ctx: ReadContext) -> Document:
    os.kill(os.getpid(), signal.SIGSEGV)
    raise AssertionError("unreachable")
