"""Trainable towers of an OpenCLIP encoder: captions (text tower) against images (image tower).

`encoders.tuning.train` fine-tunes the copy this returns with the same contrastive loss as text models
(CLIP's own objective, one direction: each caption against the batch's images). The copy is saved as
`open_clip_pytorch_model.bin` in a folder, which `OpenCLIPEncoder(path=folder)` loads.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from .tuning import Towers

if TYPE_CHECKING:
    from .clip import OpenCLIPEncoder

CHECKPOINT = "open_clip_pytorch_model.bin"


def clip_towers(encoder: "OpenCLIPEncoder") -> Towers:
    """Towers over a deep copy of `encoder.model` (the encoder keeps serving its own weights); captions are
    cut at the model's context length."""
    import torch
    import torch.nn.functional as F
    model = copy.deepcopy(encoder.model).train()

    def embed_text(texts: Sequence[str]) -> Any:
        return F.normalize(model.encode_text(encoder.tokenizer([str(t) for t in texts]).to(encoder.device)), dim=-1)

    def embed_image(images: Sequence[Any]) -> Any:
        batch = torch.stack([encoder.preprocess(img) for img in images]).to(encoder.device)
        return F.normalize(model.encode_image(batch), dim=-1)

    def save(folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), folder / CHECKPOINT)

    return Towers(module=model, embed_query=embed_text, embed_document=embed_image, save=save)
