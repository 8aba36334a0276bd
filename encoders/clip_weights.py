"""CLIP presets and weight lookup: where an open_clip model's checkpoint and tokenizer come from.

Presets are JSON files in `clip_presets/` (open_clip style: model + pretrained tag + hub id).
Weights resolve in this order, and nothing is downloaded unless every local place is empty:

1. an explicit `path`: a checkpoint file, or a folder holding one of `CHECKPOINT_FILES`;
2. `$MMRAG_MODELS/<folder>` (folder = the hub repo's name, e.g. `CLIP-ViT-B-32-laion2B-s34B-b79K`);
3. the Hugging Face cache (and open_clip's `~/.cache/clip` for URL-only tags), looked up without network;
4. a download through open_clip (done by `encoders.clip`), unless `HF_HUB_OFFLINE` / `TRANSFORMERS_OFFLINE` is set.

This module imports neither torch nor open_clip at import time.
"""
from __future__ import annotations

import importlib.util
import json
import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from .base import ModelUnavailableError
from .runtime import hf_cache_dir, hf_cached, offline, user_models_dir

log = logging.getLogger(__name__)

PRESET_DIR = Path(__file__).resolve().parent / "clip_presets"

# Checkpoint names looked for inside a folder, best first (open_clip's own preference order).
CHECKPOINT_FILES = (
    "open_clip_model.safetensors",
    "open_clip_pytorch_model.safetensors",
    "open_clip_pytorch_model.bin",
    "open_clip_pytorch_model.pth",
)
DEFAULT_HUB_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
# Files that make a folder usable as a Hugging Face tokenizer source (SigLIP and HF-text models).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "spiece.model")


@dataclass(frozen=True)
class ClipSpec:
    """Where an open_clip model's weights can come from."""

    name: str
    model: str
    pretrained: str | None = None
    dim: int | None = None
    hub_id: str | None = None
    folder: str | None = None  # folder name under $MMRAG_MODELS
    description: str = ""
    hub_files: tuple[str, ...] = field(default=())  # checkpoint names inside the hub repo, best first
    url: str = ""  # direct download URL (OpenAI tags), cached by open_clip in ~/.cache/clip

    @property
    def local_folder(self) -> str:
        if self.folder:
            return self.folder
        if self.hub_id:
            return self.hub_id.rstrip("/").split("/")[-1]
        return f"{self.model}-{self.pretrained or 'random'}"


def pretrained_cfg(model: str, pretrained: str | None) -> dict:
    """open_clip's config for a (model, tag) pair, or {} (needs open_clip, not torch weights)."""
    if not pretrained:
        return {}
    import open_clip
    return dict(open_clip.get_pretrained_cfg(model, pretrained) or {})


def hub_parts(hf_hub: str) -> tuple[str | None, tuple[str, ...]]:
    """Split open_clip's 'org/repo/' or 'org/repo/file.bin' into repo id and candidate files."""
    if not hf_hub:
        return None, ()
    repo, filename = os.path.split(hf_hub)
    if not filename:  # 'org/repo/' -> open_clip's default names
        return repo, DEFAULT_HUB_FILES
    alts = (filename[:-4] + ".safetensors",) if filename.endswith((".bin", ".pth")) else ()
    return repo, (*alts, filename)


def model_config(model: str) -> dict:
    """open_clip's architecture config, read from its JSON file without importing open_clip (torch)."""
    found = importlib.util.find_spec("open_clip")
    if found and found.origin:
        cfg_file = Path(found.origin).parent / "model_configs" / f"{model}.json"
        if cfg_file.is_file():
            return json.loads(cfg_file.read_text(encoding="utf-8"))
    import open_clip
    return dict(open_clip.get_model_config(model) or {})


def spec_from_params(model: str = "ViT-B-32", pretrained: str | None = "laion2b_s34b_b79k",
                     name: str | None = None, **extra: Any) -> ClipSpec:
    """A spec for any open_clip (model, pretrained tag) pair; hub id and files come from open_clip."""
    if model_config(model) == {}:
        import open_clip
        raise KeyError(f"unknown open_clip model {model!r}; known: {', '.join(open_clip.list_models())}")
    pcfg = pretrained_cfg(model, pretrained) if pretrained else {}
    if pretrained and not pcfg:
        import open_clip
        tags = open_clip.list_pretrained_tags_by_model(model)
        raise KeyError(f"open_clip has no pretrained tag {pretrained!r} for {model}; tags: {', '.join(tags) or 'none'}"
                       " (pass path= for a checkpoint file, or pretrained=None with allow_random=True)")
    repo, hub_files = hub_parts(pcfg.get("hf_hub", ""))
    extra.setdefault("hub_id", repo)
    extra["hub_files"] = tuple(extra.get("hub_files") or hub_files)
    extra.setdefault("url", pcfg.get("url", ""))
    return ClipSpec(name=name or f"clip-{model}-{pretrained or 'random'}".lower(), model=model,
                    pretrained=pretrained, **extra)


def load_clip_presets(directory: str | os.PathLike = PRESET_DIR) -> dict[str, ClipSpec]:
    """Read `<name>.json` preset files (no open_clip import: hub files are filled in lazily)."""
    presets: dict[str, ClipSpec] = {}
    for file in sorted(Path(directory).glob("*.json")):
        data = json.loads(file.read_text(encoding="utf-8"))
        unknown = set(data) - {"model", "pretrained", "dim", "hub_id", "folder", "description", "hub_files", "url"}
        if unknown or "model" not in data:
            raise ValueError(f"bad CLIP preset {file}: needs 'model'; unknown keys {sorted(unknown)}")
        data["hub_files"] = tuple(data.get("hub_files", ()))
        presets[file.stem] = ClipSpec(name=file.stem, **data)
    return presets


CLIP_PRESETS: dict[str, ClipSpec] = load_clip_presets()


def complete_spec(spec: ClipSpec) -> ClipSpec:
    """Fill in the hub's checkpoint names (from open_clip's table only when the spec has no hub id)."""
    if spec.hub_files or not (spec.pretrained or spec.hub_id):
        return spec
    if spec.hub_id:
        return replace(spec, hub_files=DEFAULT_HUB_FILES)
    pcfg = pretrained_cfg(spec.model, spec.pretrained)
    repo, files = hub_parts(pcfg.get("hf_hub", ""))
    return replace(spec, hub_id=repo, hub_files=files, url=spec.url or pcfg.get("url", ""))


def as_spec(preset_or_params: str | ClipSpec | Mapping[str, Any]) -> tuple[ClipSpec, str | None]:
    if isinstance(preset_or_params, ClipSpec):
        return preset_or_params, None
    if isinstance(preset_or_params, str):
        if preset_or_params not in CLIP_PRESETS:
            raise KeyError(f"unknown CLIP preset {preset_or_params!r}; presets: {', '.join(sorted(CLIP_PRESETS))}")
        return CLIP_PRESETS[preset_or_params], None
    params = dict(preset_or_params)
    path = params.pop("path", None)
    if params.get("preset"):
        return as_spec(params["preset"])[0], path
    known = {k: params[k] for k in ("model", "pretrained", "name") if k in params}
    return spec_from_params(**known), path


@dataclass
class Resolution:
    checkpoint: str | None = None  # file to load
    folder: str | None = None  # local folder it came from (tokenizer files may be there too)
    looked_in: list[str] = field(default_factory=list)
    download: bool = False  # nothing local; open_clip may download


def checkpoint_in(folder: Path, extra_names: Sequence[str] = ()) -> Path | None:
    for fname in dict.fromkeys([*CHECKPOINT_FILES, *extra_names]):
        if (folder / fname).is_file():
            return folder / fname
    return None


def resolve_weights(spec: ClipSpec, path: str | os.PathLike | None) -> Resolution:
    """Find a local checkpoint without loading or downloading anything."""
    res = Resolution()
    spec = complete_spec(spec)
    hub_names = [f for f in spec.hub_files if "/" not in f]
    if path is not None:
        p = Path(path).expanduser()
        res.looked_in.append(str(p))
        if p.is_file():
            res.checkpoint, res.folder = str(p), str(p.parent)
            return res
        if p.is_dir():
            found = checkpoint_in(p, hub_names)
            if found:
                res.checkpoint, res.folder = str(found), str(p)
                return res
            raise ModelUnavailableError(
                f"CLIP model {spec.name!r}: folder {p} holds no checkpoint; expected one of "
                f"{', '.join(dict.fromkeys([*CHECKPOINT_FILES, *hub_names]))}")
        raise ModelUnavailableError(f"CLIP model {spec.name!r}: checkpoint path {p} does not exist")
    if (models := user_models_dir()) is not None:
        d = models / spec.local_folder
        res.looked_in.append(str(d))
        if d.is_dir() and (found := checkpoint_in(d, hub_names)):
            res.checkpoint, res.folder = str(found), str(d)
            return res
    else:
        res.looked_in.append("$MMRAG_MODELS (not set)")
    if spec.hub_id:
        for fname in spec.hub_files:
            res.looked_in.append(f"Hugging Face cache ({hf_cache_dir()}): {spec.hub_id}/{fname}")
            if cached := hf_cached(spec.hub_id, fname):
                res.checkpoint, res.folder = cached, str(Path(cached).parent)
                return res
    url = spec.url
    if url:
        target = Path("~/.cache/clip").expanduser() / os.path.basename(url)
        res.looked_in.append(str(target))
        if target.is_file():
            res.checkpoint = str(target)
            return res
    res.download = bool(spec.hub_id or url)
    return res


def weights_hint(spec: ClipSpec) -> str:
    folder = f"$MMRAG_MODELS/{spec.local_folder}"
    names = " or ".join(CHECKPOINT_FILES[:1] + CHECKPOINT_FILES[2:3])
    hub = f" (the files of https://huggingface.co/{spec.hub_id})" if spec.hub_id else ""
    return (f"Put the checkpoint ({names}){hub} in {folder}, pass path=<checkpoint file or folder>, "
            f"or run once online without HF_HUB_OFFLINE so open_clip caches it")


def tokenizer_source(spec: ClipSpec, folder: str | None) -> tuple[str | None, bool, list[str]]:
    """Where to load a model's Hugging Face tokenizer from (SigLIP, HF-text models).

    Returns (source, local, looked_in): source '' for open_clip's bundled BPE vocabulary (always
    offline), a folder or a cached hub id (local=True), the hub id to download (online only,
    local=False), or None when it cannot be had.
    """
    text_cfg = model_config(spec.model).get("text_cfg", {})
    hf_name = text_cfg.get("hf_tokenizer_name")
    if not hf_name:
        return "", True, []
    looked: list[str] = []
    dirs = [folder] if folder else []
    if (models := user_models_dir()) is not None:
        dirs.append(str(models / spec.local_folder))
    for d in dict.fromkeys(dirs):
        looked.append(f"{d} ({' / '.join(TOKENIZER_FILES)})")
        if any((Path(d) / f).is_file() for f in TOKENIZER_FILES):
            return d, True, looked
    looked.append(f"Hugging Face cache ({hf_cache_dir()}): {hf_name}/tokenizer_config.json")
    if hf_cached(hf_name, "tokenizer_config.json"):
        return hf_name, True, looked
    return (None if offline() else hf_name), False, looked


def clip_weights_status(preset_or_params: str | ClipSpec | Mapping[str, Any]) -> dict[str, Any]:
    """Whether a CLIP model's files are on this machine, checked without loading or downloading.

    Accepts a preset name, a ClipSpec, or params {"model", "pretrained", "path"} (or {"preset", "path"}).
    Returns {name, model, pretrained, dim, hub_id, folder, available, checkpoint, source (when available),
    looked_in, reason, hint}.
    """
    try:
        spec, path = as_spec(preset_or_params)
    except KeyError as exc:  # unknown preset, model or tag
        return {"name": str(preset_or_params), "available": False, "checkpoint": None, "looked_in": [],
                "reason": str(exc.args[0] if exc.args else exc), "hint": "see encoders/clip_presets/ for presets"}
    status: dict[str, Any] = {"name": spec.name, "model": spec.model, "pretrained": spec.pretrained,
                              "dim": spec.dim, "hub_id": spec.hub_id, "folder": spec.local_folder,
                              "available": False, "checkpoint": None, "looked_in": [], "reason": "",
                              "hint": weights_hint(spec)}
    try:
        res = resolve_weights(spec, path)
    except ModelUnavailableError as exc:
        status.update(looked_in=[str(path)], reason=str(exc))
        return status
    status["looked_in"] = res.looked_in
    if not res.checkpoint:
        online = "" if offline() else "; it would be downloaded from the hub on first use if the network allows"
        status["reason"] = f"no checkpoint found in {len(res.looked_in)} places{online}"
        return status
    tok, tok_local, tok_looked = tokenizer_source(spec, res.folder)
    status["checkpoint"] = res.checkpoint
    if not tok_local:
        status["looked_in"] = res.looked_in + tok_looked
        status["reason"] = (f"checkpoint at {res.checkpoint} but the tokenizer files are missing; put the hub repo's "
                            f"tokenizer files ({', '.join(TOKENIZER_FILES)}) next to it")
        return status
    status.update(available=True, source=res.checkpoint, reason=f"checkpoint at {res.checkpoint}")
    return status


def clip_encoder_status(preset: str | None = None, **params: Any) -> dict[str, Any]:
    """`clip_weights_status` for the registry's status hook: takes the encoder's own params
    (path, model, pretrained, allow_random, threads...) and says whether create_encoder would work."""
    status = clip_weights_status({"preset": preset, **params})
    if not status["available"] and params.get("allow_random"):
        status.update(available=True, source="random weights (allow_random=True)",
                      reason=f"{status['reason']}; allow_random=True builds it with random weights")
    return status
