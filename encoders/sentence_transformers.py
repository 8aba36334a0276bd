"""Any sentence-transformers embedding model by hub id (`st:<hub id or folder>`), with the model's own
pooling and normalisation and its query/document prompts.

Prompts, in order: explicit `query_prompt` / `document_prompt`; the non-empty prompts of the model's
config_sentence_transformers.json; `KNOWN_PROMPTS` (families by hub id: BGE, E5, GTE, nomic, ...).
`encode` embeds documents (document prompt), `encode_queries` embeds queries (query prompt).

Weights resolve in order: `path`, the hub id as a local folder, `$MMRAG_MODELS/<name>`, `local_dirs`
(folders inside offline packages), the Hugging Face cache, then a download (online only).
"""
from __future__ import annotations

import fnmatch
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .base import ModelUnavailableError, l2_normalise, query_threads, torch_threads
from .runtime import hf_cache_dir, hf_cached, hub_reachable, offline, user_models_dir

log = logging.getLogger(__name__)
PREFIX = "st:"
BGE_EN = "Represent this sentence for searching relevant passages: "
BGE_ZH = "为这个句子生成表示以用于检索相关文章："
WEB_INSTRUCT = "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery: "
QUERY_NAMES = ("query", "search_query", "retrieval.query", "s2p_query")
DOCUMENT_NAMES = ("document", "passage", "search_document", "corpus", "retrieval.passage")


@dataclass(frozen=True)
class Prompts:
    """Text put before queries and before documents (empty: none)."""

    query: str = ""
    document: str = ""


# Families by hub id (fnmatch on the lower-cased id); the first match wins, so specific ones come first.
KNOWN_PROMPTS: tuple[tuple[str, Prompts], ...] = (
    ("baai/bge-m3*", Prompts()),
    ("baai/bge-*-zh*", Prompts(query=BGE_ZH)),
    ("baai/bge-*", Prompts(query=BGE_EN)),
    ("intfloat/*-instruct", Prompts(query=WEB_INSTRUCT)),
    ("intfloat/*e5-*", Prompts("query: ", "passage: ")),
    ("alibaba-nlp/gte-qwen*", Prompts(query=WEB_INSTRUCT)),
    ("alibaba-nlp/gte-*", Prompts()),
    ("thenlper/gte-*", Prompts()),
    ("nomic-ai/nomic-embed-text-*", Prompts("search_query: ", "search_document: ")),
    ("mixedbread-ai/mxbai-embed-*", Prompts(query=BGE_EN)),
    ("snowflake/snowflake-arctic-embed-*-v2*", Prompts(query="query: ")),
    ("snowflake/snowflake-arctic-embed-*", Prompts(query=BGE_EN)),
)


@dataclass(frozen=True)
class STModelInfo:
    """What was loaded: hub id, local source, vector size, token window and the prompts in use."""

    hub_id: str
    source: str
    dim: int
    max_length: int
    prompts: Prompts


def known_prompts(hub_id: str) -> Prompts | None:
    """The prompts of the first `KNOWN_PROMPTS` family matching `hub_id`, or None."""
    key = hub_id.strip().lower()
    return next((p for pattern, p in KNOWN_PROMPTS if fnmatch.fnmatchcase(key, pattern)), None)


def configured_prompts(prompts: Mapping[str, str] | None) -> Prompts:
    """Query/document prompts from a model's config_sentence_transformers.json `prompts` mapping."""
    prompts = prompts or {}
    pick = lambda names: next((prompts[n] for n in names if prompts.get(n)), "")  # noqa: E731
    return Prompts(pick(QUERY_NAMES), pick(DOCUMENT_NAMES))


def choose_prompts(hub_id: str, configured: Mapping[str, str] | None, query: str | None = None,
                   document: str | None = None) -> Prompts:
    """Explicit prompts, else the model's own (non-empty) ones, else its family's from `KNOWN_PROMPTS`."""
    own = configured_prompts(configured)
    table = known_prompts(hub_id) or Prompts()
    return Prompts(query if query is not None else own.query or table.query,
                   document if document is not None else own.document or table.document)


def candidate_dirs(hub_id: str, path: str | None = None, local_dirs: Sequence[str] = ()) -> list[Path]:
    """Local folders to try, in order."""
    dirs = [Path(path)] if path else []
    dirs.append(Path(hub_id).expanduser())
    if (models := user_models_dir()) is not None:
        dirs.append(models / hub_id.rstrip("/").split("/")[-1])
    return dirs + [Path(d) for d in local_dirs]


def _is_model_dir(d: Path) -> bool:
    return (d / "modules.json").is_file() or (d / "config.json").is_file()


def resolve_source(hub_id: str, path: str | None = None, local_dirs: Sequence[str] = (),
                   kind: str = "embedding model", loader: str = "SentenceTransformer") -> tuple[str, bool]:
    """(folder or hub id, local_files_only); ModelUnavailableError naming the hub id and what to do
    (`kind` and `loader`, the sentence-transformers class that downloads it, word the message)."""
    if path and not _is_model_dir(Path(path)):
        raise ModelUnavailableError(f"model folder {path} has no modules.json or config.json (a sentence-transformers"
                                    f" or transformers model folder is expected, e.g. a snapshot of {hub_id})")
    looked = candidate_dirs(hub_id, path, local_dirs)
    for d in looked:
        if _is_model_dir(d):
            return str(d), True
    if hf_cached(hub_id, "modules.json") or hf_cached(hub_id, "config.json"):
        return hub_id, True
    if not offline() and hub_reachable():
        return hub_id, False
    why = "HF_HUB_OFFLINE is set" if offline() else "the Hugging Face hub is unreachable"
    places = "".join(f"\n  - {d}" for d in looked) + f"\n  - Hugging Face cache ({hf_cache_dir()}): {hub_id}"
    folder = hub_id.rstrip("/").split("/")[-1]
    raise ModelUnavailableError(
        f"{kind} {hub_id!r} not found and {why}. Looked in:{places}\n"
        f"Download it once online (python -c \"from sentence_transformers import {loader}; "
        f"{loader}('{hub_id}')\"), put its folder in $MMRAG_MODELS/{folder}, or pass path=<folder>.")


_MODELS: dict[tuple, Any] = {}
_LOCK = threading.Lock()


def cached_model(key: tuple, build: Callable[[], Any]) -> Any:
    """One model per `key` in this process, built by `build()` on first use (thread-safe)."""
    with _LOCK:
        if key not in _MODELS:
            _MODELS[key] = build()
        return _MODELS[key]


def _load(source: str, local_only: bool, device: str, trust_remote_code: bool, revision: str | None) -> Any:
    """One SentenceTransformer per (source, device, options), loaded on first use."""
    def build() -> Any:
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging
        except ImportError as exc:  # pragma: no cover - install error
            raise ModelUnavailableError("st: encoders need sentence-transformers: "
                                        "pip install sentence-transformers torch") from exc
        hf_logging.disable_progress_bar()
        return SentenceTransformer(source, device=device, local_files_only=local_only,
                                   trust_remote_code=trust_remote_code, revision=revision)
    return cached_model(("st", source, local_only, device, trust_remote_code, revision), build)


class SentenceTransformerEncoder:
    """A sentence-transformers model: its modules do tokenising, pooling and normalising; rows come out
    L2-normalised (a no-op for models that end in Normalize)."""

    modalities = ("text",)

    def __init__(self, model: str, path: str | None = None, threads: int | None = None, device: str = "cpu",
                 query_prompt: str | None = None, document_prompt: str | None = None,
                 local_dirs: Sequence[str] = (), trust_remote_code: bool = False, revision: str | None = None,
                 name: str | None = None) -> None:
        self.hub_id = model[len(PREFIX):] if model.startswith(PREFIX) else model
        self.name = name or PREFIX + self.hub_id
        self.threads, self.device = threads, device
        source, local_only = resolve_source(self.hub_id, path, local_dirs)
        try:
            self.model = _load(source, local_only, device, trust_remote_code, revision)
        except (OSError, ValueError, RuntimeError) as exc:
            if isinstance(exc, ModelUnavailableError):
                raise
            raise ModelUnavailableError(f"cannot load embedding model {self.hub_id!r} from {source}: {exc}. "
                                        "Check the hub id (or folder); models with custom code need "
                                        "trust_remote_code=True in the space's encoder_params") from exc
        prompts = choose_prompts(self.hub_id, getattr(self.model, "prompts", None), query_prompt, document_prompt)
        dim_fn = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dim_fn())
        self.spec = STModelInfo(self.hub_id, source, self.dim, int(self.model.max_seq_length or 512), prompts)
        log.info("loaded text encoder %s from %s (query prompt %r, document prompt %r)", self.name, source,
                 prompts.query, prompts.document)

    @property
    def prompts(self) -> Prompts:
        return self.spec.prompts

    def _encode(self, inputs: Sequence[str], prompt: str, batch_size: int) -> np.ndarray:
        texts = [str(t) for t in inputs]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with torch_threads(query_threads(len(texts), self.threads)):
            out = self.model.encode(texts, prompt=prompt, batch_size=batch_size, convert_to_numpy=True,
                                    show_progress_bar=False)
        return l2_normalise(np.asarray(out, dtype=np.float32))

    def encode(self, inputs: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed documents (with the document prompt)."""
        return self._encode(inputs, self.prompts.document, batch_size)

    encode_documents = encode

    def encode_queries(self, inputs: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed search queries (with the query prompt)."""
        return self._encode(inputs, self.prompts.query, batch_size)

    def count_tokens(self, text: str) -> int:
        """Number of model tokens in `text` (no special tokens, no truncation)."""
        return len(self.model.tokenizer(text, add_special_tokens=False)["input_ids"])


def st_status(model: str, path: str | None = None, local_dirs: Sequence[str] = (), **_: Any) -> dict[str, Any]:
    """Whether an `st:` model is on this machine, without loading it."""
    hub_id = model[len(PREFIX):] if model.startswith(PREFIX) else model
    looked = [str(d) for d in candidate_dirs(hub_id, path, local_dirs)] + [f"hub cache: {hub_id}"]
    try:
        source, local_only = resolve_source(hub_id, path, local_dirs)
    except ModelUnavailableError as exc:
        return {"available": False, "looked_in": looked, "reason": str(exc).splitlines()[0],
                "hint": f"download {hub_id} once online, or put its folder in $MMRAG_MODELS"}
    if not local_only:
        return {"available": None, "looked_in": looked, "reason": f"not downloaded yet ({hub_id} loads from the hub)"}
    return {"available": True, "source": source, "looked_in": looked}
