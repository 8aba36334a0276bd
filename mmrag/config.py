"""Library configuration (library.json): which embedding spaces exist and how they are built."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

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
    index: str = "faiss"
    encoder_params: dict = field(default_factory=dict)


@dataclass
class LibraryConfig:
    spaces: dict[str, SpaceConfig]
    version: int = CONFIG_VERSION
    max_file_mb: float = 20.0
    chunk_chars: int = 1000
    chunk_overlap: int = 150

    @classmethod
    def default(cls, text_encoder: str = "minilm") -> "LibraryConfig":
        return cls(spaces={"text": SpaceConfig(encoder=text_encoder, modalities=["text", "table"])})

    @classmethod
    def load(cls, path: Path) -> "LibraryConfig":
        try:
            raw = json.loads(path.read_text())
            spaces = {k: SpaceConfig(**v) for k, v in raw.pop("spaces").items()}
            return cls(spaces=spaces, **raw)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"library config {path} is unreadable ({exc}); fix or delete it") from exc

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        os.replace(tmp, path)
