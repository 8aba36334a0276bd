"""`SearchOptions`: everything `search` can be told, as one typed value (the keyword arguments of
`mmrag.retrieval.search.search`, which stays the reference for what each one does)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..core import IMAGE_WEIGHT
from ..errors import BadOptionError
from ..kinds import Fusion
from .fusion import RRF_K
from .rerank import RERANK_DEPTH

if TYPE_CHECKING:
    from PIL import Image

RETRIEVERS = ("dense", "bm25")


@dataclass(frozen=True)
class SearchOptions:
    """Search options; the defaults are what `Library.search` and the app use."""

    modality: str | Sequence[str] | None = None  # "text", "image", "video", "table" or a list of them
    source: str | None = None  # a glob over source paths
    diversity: bool = False  # MMR over the hits
    mmr_lambda: float = 0.7
    expand: bool = False  # pseudo-relevance feedback (a second, expanded search)
    retrievers: Sequence[str] = RETRIEVERS
    candidates: int | None = None  # per retriever; default max(50, 5k)
    fusion: Fusion | str = Fusion.ADAPTIVE
    weights: Mapping[str, float] | None = None
    rrf_k: int = RRF_K
    group_by_source: bool = False  # each source once, at its best record
    image: "Image.Image | None" = field(default=None, compare=False)  # a query image
    image_weight: float = IMAGE_WEIGHT
    rerank: str | None = None  # "ce:<hub id>", "llm" or "llm:<generator>" (mmrag.retrieval.rerank); off by default
    rerank_depth: int = RERANK_DEPTH  # hits the reranker reorders

    def kwargs(self) -> dict[str, Any]:
        """The options as `search(...)` keyword arguments (shallow: the image stays the same object)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly (no image)."""
        d = asdict(replace(self, image=None))
        d.pop("image")
        return d


def search_options(options: "SearchOptions | Mapping[str, Any] | None" = None, **overrides: Any) -> SearchOptions:
    """`options` (a SearchOptions or a dict of its fields) with `overrides`; unknown names -> BadOptionError."""
    base = options if isinstance(options, SearchOptions) else SearchOptions()
    given = {**(dict(options) if isinstance(options, Mapping) else {}), **overrides}
    valid = {f.name for f in fields(SearchOptions)}
    if bad := sorted(set(given) - valid):
        raise BadOptionError(f"unknown search options {bad}; valid: {sorted(valid)}")
    return replace(base, **given)
