"""The app's one door to mmrag: a library opened once, shared by every request.

Reads (search, ask, moments, status) run concurrently; writes (ingest, remove) take the library
exclusively, so a search never sees an index half-updated. Only mmrag's public API is used.
"""
from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from PIL import Image, ImageOps

from mmrag import BadQueryError, Evidence, Hit, IngestReport, Library, LibraryBusyError, Moment

from . import paths

log = logging.getLogger(__name__)
MAX_QUERY_PIXELS = 40_000_000


class UserError(BadQueryError):
    """A problem with what the user asked for; shown to them as is."""


class RWLock:
    """Many readers or one writer; a waiting writer keeps new readers out (no writer starvation)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writer and not self._waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            self._cond.wait_for(lambda: not self._writer and not self._readers)
            self._waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


@dataclass
class Settings:
    """What `mmrag serve` was told."""

    library: Path
    generator: str | None = None  # None: mmrag's default (best installed LLM, else extractive)
    k: int = 8
    folder_roots: list[Path] = field(default_factory=list)  # server folders the app may ingest
    max_upload_mb: float = 100.0
    concurrency: int = 4  # requests (ask, search) handled at once; more wait in Gradio's queue
    warm_up: bool = True  # load the available encoders in the background at start


def load_query_image(path: str | None) -> Image.Image | None:
    """An uploaded query image as upright RGB, refusing non-images and decompression bombs."""
    if not path:
        return None
    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_QUERY_PIXELS:
                raise UserError(f"image {Path(path).name} is {img.width}x{img.height}; the limit is "
                                f"{MAX_QUERY_PIXELS // 1_000_000} MP")
            img.load()
            out = ImageOps.exif_transpose(img) or img
            return out.convert("RGB")
    except UserError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UserError(f"{Path(path).name} is not a readable image ({exc})") from exc


class LibraryService:
    """A library shared by all requests, with the read/write discipline described above."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = Path(settings.library).resolve()
        self.lib = Library(self.root)
        self.lock = RWLock()
        self.last_model: dict[str, str] = {}
        if settings.warm_up:
            threading.Thread(target=self.warm_up, name="mmrag-warm-up", daemon=True).start()

    def warm_up(self) -> None:
        """Load the encoders whose weights are present, so the first question does not wait for them."""
        spaces = self.lib.status()["spaces"]
        with self.lock.write():
            for name, st in spaces.items():
                if st.get("available"):
                    self.lib.available(name)

    def close(self) -> None:
        with self.lock.write():
            self.lib.close()

    # -- reading --------------------------------------------------------------------------------
    def search(self, query: str, image: Image.Image | None = None, k: int = 10,
               modality: Sequence[str] | None = None, source: str | None = None,
               diversity: bool = False) -> list[Hit]:
        if not query.strip() and image is None:
            raise UserError("type a query or attach an image")
        with self.lock.read():
            return self.lib.search(query, k=k, modality=list(modality) if modality else None,
                                   source=source or None, diversity=diversity, image=image)

    def ask_stream(self, question: str, image: Image.Image | None = None, k: int | None = None
                   ) -> Iterator[Any]:
        """`Library.ask_stream` events; the read lock is held while the library computes each one."""
        if not question.strip() and image is None:
            raise UserError("type a question or attach an image")
        options: dict[str, Any] = {"image": image, "k": k or self.settings.k}
        if self.settings.generator:
            options["generator"] = self.settings.generator
        events = self.lib.ask_stream(question, **options)
        while True:  # the lock is held while the library works, never while the page consumes an event
            with self.lock.read():
                event = next(events, None)
            if event is None:
                return
            if event.kind == "answer" and event.answer is not None:
                meta = getattr(event.answer, "meta", {}) or {}
                self.last_model = {"model": event.answer.model, "choice": str(meta.get("generator_choice", ""))}
            yield event

    def moments(self, video: str, query: str, k: int = 5) -> list[Moment]:
        if not video or not query.strip():
            raise UserError("pick a video and type what to look for")
        with self.lock.read():
            return self.lib.moments(video, query, k=k)

    def status(self) -> dict:
        with self.lock.read():
            return self.lib.status()

    def models(self) -> dict[str, dict]:
        """Each model (space encoders, speech, OCR, LLMs) with its availability."""
        with self.lock.read():
            return self.lib.models()

    def sources(self) -> list[dict]:
        """Every source with its status, kind, record count and error."""
        with self.lock.read():
            return self.lib.sources()

    # -- writing --------------------------------------------------------------------------------
    def ingest(self, paths_: Sequence[str | Path], progress: bool = False) -> IngestReport:
        try:
            with self.lock.write():
                return self.lib.ingest([str(p) for p in paths_], progress=progress)
        except LibraryBusyError as exc:
            raise UserError(f"{exc}; try again when it has finished") from exc

    def add_uploads(self, uploads: Sequence[str], progress: bool = False) -> tuple[list[Path], IngestReport]:
        """Copy uploaded temp files into <library>/uploads (safe names) and ingest them."""
        stored = [paths.store_upload(self.root, p, Path(p).name) for p in uploads if p]
        if not stored:
            raise UserError("choose one or more files to upload first")
        return stored, self.ingest(stored, progress)

    def add_folder(self, folder: str, progress: bool = False) -> IngestReport:
        """Ingest a folder on the server, if it lies under one of the allowed folder roots."""
        path = Path(os.path.expanduser(folder.strip())) if folder and folder.strip() else None
        if path is None:
            raise UserError("type the path of a folder on the server")
        if not path.is_dir():
            raise UserError(f"{folder}: no such folder on the server")
        roots = self.settings.folder_roots
        if not any(paths.inside(path, r) for r in roots):
            raise UserError(f"{folder} is outside the folders this app may read "
                            f"({', '.join(map(str, roots)) or 'none'}); start it with --folder-root")
        return self.ingest([path.resolve()], progress)

    def remove(self, source: str) -> int:
        """Remove one source (its records, vectors and entry); uploaded copies are deleted too."""
        known = {s["path"] for s in self.sources()}
        if source not in known:
            raise UserError(f"{source} is not in the library")
        try:
            with self.lock.write():
                n = sum(self.lib.remove(source).values())
        except LibraryBusyError as exc:
            raise UserError(f"{exc}; try again when it has finished") from exc
        if paths.inside(source, self.root / paths.UPLOADS) and Path(source).is_file():
            Path(source).unlink()
        paths.drop_media_copy(self.root, source)
        return n

    # -- media ------------------------------------------------------------------------------------
    def media_path(self, source_or_rel: str) -> str | None:
        """A path the web server may send for a library file (thumbnail) or a picture/video source."""
        p = Path(source_or_rel)
        p = p if p.is_absolute() else self.root / p
        if paths.servable(self.root, p) and p.is_file():
            return str(p.resolve())
        try:
            copy = paths.media_copy(self.root, p)
        except OSError as exc:
            log.warning("cannot make %s servable: %s", p, exc)
            return None
        return str(copy) if copy else None

    def evidence_image(self, ev: Evidence) -> str | None:
        """The picture to show for an image (or keyframe, or OCR view) piece of evidence."""
        meta = ev.hit.record.meta
        if ev.modality == "image" or meta.get("view_of") == "image":
            return self.media_path(ev.source) or (self.media_path(meta["thumbnail"]) if "thumbnail" in meta else None)
        if "thumbnail" in meta:
            return self.media_path(meta["thumbnail"])
        return None
