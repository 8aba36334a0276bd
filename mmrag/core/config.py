"""Library configuration (library.json): which embedding spaces exist and how they are built."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import LibraryDamagedError
from ..kinds import SpaceInput

CONFIG_VERSION = 1
DEFAULT_LIBRARY = "mmrag-library"


def default_library() -> Path:
    """`$MMRAG_LIBRARY`, else ./mmrag-library."""
    return Path(os.environ.get("MMRAG_LIBRARY") or DEFAULT_LIBRARY)


@dataclass
class SpaceConfig:
    """One embedding space: an encoder, the record modalities it embeds, a vector index kind."""

    encoder: str
    modalities: list[str]
    input: SpaceInput = SpaceInput.TEXT  # what the encoder reads from a record: text, or image pixels
    index: str = "faiss"
    encoder_params: dict = field(default_factory=dict)


@dataclass
class LibraryConfig:
    spaces: dict[str, SpaceConfig]
    version: int = CONFIG_VERSION
    max_file_mb: float = 20.0  # documents and images (read into memory)
    max_video_mb: float = 4000.0  # videos (streamed: never read into memory whole)
    max_table_mb: float = 2000.0  # CSV/Excel/Parquet/JSONL (streamed in chunks into DuckDB)
    chunk_chars: int = 1000
    chunk_overlap: int = 150
    chunk_tokens: int = 0  # > 0: chunks measured in the text encoder's tokens (at most this many), not chars
    max_pdf_page_images: int = 50  # PDF pages also indexed as images (CLIP space); 0 = none
    max_image_pixels: int = 100_000_000
    thumbnail_px: int = 384
    ocr: bool = True
    table_row_records: int = 2000  # rows per table indexed as row-group records (-1: every row)
    # video (mmrag/video): keyframes per second, shot-cut and near-duplicate thresholds, longest segment
    # record, keyframe cap per video (the rate drops for long videos), speech-to-text model (faster-whisper)
    keyframe_fps: float = 1.0
    shot_threshold: float = 0.4
    keyframe_dedupe: float = 2.0
    segment_s: float = 10.0
    max_keyframes: int = 1800
    asr: bool = True
    asr_model: str = "tiny.en"
    # ingest robustness (mmrag/ingest/worker.py): files are read in a separate process that is stopped
    # when it runs past its time limit or memory cap; readers cap what one file may produce
    isolate_readers: bool = True
    read_timeout_s: float = 300.0  # documents and images
    media_timeout_s: float = 3600.0  # streamed kinds: videos and tables
    max_reader_mb: float = 0.0  # memory of the reader process; 0 = half of this machine's RAM, at most 8 GB
    follow_links: bool = False  # follow symlinks whose target is outside the folders being ingested
    plugins: list[str] = field(default_factory=list)  # modules that register more readers when imported
    max_cell_chars: int = 100_000  # a longer table cell is cut (and the table's record says so)
    max_unzipped_mb: float = 2000.0  # .xlsx (a zip): largest uncompressed size accepted
    max_table_rows: int = 50_000_000  # rows kept per table (JSON Lines, Parquet, CSV, Excel)
    max_line_chars: int = 10_000_000  # longest JSON Lines line read
    # large spaces (indexes/ivfpq.py): a space with more stored vectors than `ivfpq_above` gets an IVF-PQ
    # index, trained once on a sample, filled in shards of `ivfpq_shard_size` vectors (in parallel Ray tasks
    # under `--engine ray`) and searched memory-mapped; `ivfpq`: IvfPqIndex parameters (factory, nlist,
    # nprobe, refine, k_factor); 0 = never
    ivfpq_above: int = 2_000_000
    ivfpq_shard_size: int = 1_000_000
    ivfpq: dict = field(default_factory=dict)

    def reader_memory_mb(self) -> float:
        """The reader process's memory cap in MB (`max_reader_mb`, or the automatic default)."""
        if self.max_reader_mb > 0:
            return self.max_reader_mb
        try:
            import psutil
            total = psutil.virtual_memory().total / 1e6
        except ImportError:  # pragma: no cover - psutil is a dependency
            total = 16_000.0
        return min(8192.0, total / 2)

    @classmethod
    def default(cls, text_encoder: str = "minilm", image_encoder: str = "clip-vit-b-32",
                image_encoder_params: dict | None = None) -> "LibraryConfig":
        return cls(spaces={
            "text": SpaceConfig(encoder=text_encoder, modalities=["text", "table"]),
            "clip": SpaceConfig(encoder=image_encoder, modalities=["image", "video"], input=SpaceInput.IMAGE,
                                encoder_params=image_encoder_params or {}),
        })

    @classmethod
    def load(cls, path: Path) -> "LibraryConfig":
        try:
            raw = json.loads(path.read_text())
            spaces = {k: SpaceConfig(**{**v, "input": SpaceInput(v.get("input", "text"))})
                      for k, v in raw.pop("spaces").items()}
            return cls(spaces=spaces, **raw)
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise LibraryDamagedError(f"library config {path} is unreadable ({exc}); fix it, or delete it"
                                      " to get the default spaces back") from exc

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        os.replace(tmp, path)
