"""The vision-language generator: a transformers image-text-to-text model that sees evidence pixels.

Any model `AutoModelForImageTextToText` + `AutoProcessor` load (SmolVLM/Idefics3, Qwen2-VL,
LLaVA, ...) by hub id or local folder. Chat messages carry content parts (`{"type": "text"}`,
`{"type": "image"}`); the processor's chat template places the image tokens and `images=` gives
the pixels in the same order, so each retrieved image or keyframe reaches `generate` as pixels.
Offline (HF_HUB_OFFLINE=1, as here) a hub id whose weights are not cached fails with
`ModelUnavailableError` saying how to get them.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

from encoders.runtime import offline

from ..errors import ConfigError, DependencyMissingError, GenerationError, ModelMissingError
from .llm import Usage

log = logging.getLogger(__name__)
Part = dict[str, Any]


def load_vlm(model_id: str, dtype: str = "float32") -> tuple[Any, Any]:
    """(model, processor) from a local folder or a hub id; ModelUnavailableError when the weights are missing."""
    try:
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor
    except ImportError as exc:
        raise DependencyMissingError("the VLM backend needs transformers and torch: pip install transformers torch") from exc
    path = Path(model_id).expanduser()
    local = path.is_dir()
    if not local and (model_id.startswith((".", "/", "~")) or path.suffix):
        raise ModelMissingError(f"VLM folder {model_id!r} does not exist; give an existing model folder or a hub id")
    src = str(path) if local else model_id
    try:
        processor = AutoProcessor.from_pretrained(src, local_files_only=offline())
        model = AutoModelForImageTextToText.from_pretrained(src, dtype=getattr(torch, dtype),
                                                            local_files_only=offline())
    except (OSError, ValueError) as exc:
        where = f"folder {src}" if local else ("the local Hugging Face cache (offline: HF_HUB_OFFLINE=1)"
                                               if offline() else "the Hugging Face hub")
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelMissingError(
            f"VLM {model_id!r}: weights not found in {where} ({first}). Download it where the hub is reachable "
            f"(`huggingface-cli download {model_id} --local-dir DIR`) and use generator='vlm:DIR'") from exc
    model.eval()
    return model, processor


def as_parts(content: str | Sequence[Part]) -> list[Part]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


class TransformersVLM:
    """Chat over text and images with a transformers VLM (greedy by default), streamed."""

    kind = "vision"

    def __init__(self, model: Any, processor: Any = None, *, name: str | None = None, n_ctx: int | None = None,
                 dtype: str = "float32", max_ctx: int = 8192) -> None:
        if isinstance(model, (str, os.PathLike)):
            self.model, self.processor = load_vlm(str(model), dtype)
            self.name = name or str(model)
        else:
            if processor is None:
                raise ConfigError("a loaded VLM model needs its processor")
            self.model, self.processor = model, processor
            self.name = name or type(model).__name__
        text_cfg = self.model.config.get_text_config()
        self.n_ctx = n_ctx or min(int(getattr(text_cfg, "max_position_embeddings", 4096)), max_ctx)
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        self.usage = Usage()
        self._lock = threading.RLock()
        self._image_cost: dict[tuple[int, int], int] = {}

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def render(self, messages: Sequence[dict[str, Any]]) -> str:
        """The chat template's text (image parts become the model's image placeholders)."""
        msgs = [{"role": m["role"], "content": as_parts(m["content"])} for m in messages]
        return self.processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)

    def inputs(self, messages: Sequence[dict[str, Any]], images: Sequence[Any] = ()) -> Any:
        """Processor outputs (input ids, pixel values, ...) for messages and their images in order."""
        n_parts = sum(p.get("type") == "image" for m in messages for p in as_parts(m["content"]))
        if n_parts != len(images):
            raise ConfigError(f"the messages have {n_parts} image parts but {len(images)} images were given")
        kw = {"images": list(images)} if images else {}
        return self.processor(text=[self.render(messages)], return_tensors="pt", **kw)

    def image_tokens(self, image: Any) -> int:
        """Prompt tokens one image takes (measured once per image size)."""
        key = tuple(image.size)
        if key not in self._image_cost:
            one = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "x"}]}]
            none = [{"role": "user", "content": [{"type": "text", "text": "x"}]}]
            with_img = self.inputs(one, [image])["input_ids"].shape[-1]
            self._image_cost[key] = max(int(with_img - self.inputs(none)["input_ids"].shape[-1]), 1)
        return self._image_cost[key]

    def stream(self, prompt: str | Sequence[dict[str, Any]], max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None, seed: int | None = None, images: Sequence[Any] = ()) -> Iterator[str]:
        """The reply, piece by piece; generation runs in a thread feeding a streamer."""
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
        with self._lock:
            inputs = self.inputs(messages, images)
            run = _Run(self, inputs, max_tokens, temperature, seed)
            text, n = "", 0
            try:
                for piece in run.streamer:
                    text += piece
                    n += 1
                    cut = min((text.find(s) for s in stop or [] if s in text), default=-1)
                    if cut >= 0:
                        run.halt.set()
                        piece = piece[: max(len(piece) - (len(text) - cut), 0)]
                    if piece:
                        yield piece
                    if run.halt.is_set():
                        break
            finally:
                run.finish()
            self.usage.calls += 1
            self.usage.completion_tokens += n
            self.usage.seconds += run.seconds
            self.usage.last = {"prompt_tokens": int(inputs["input_ids"].shape[-1]), "seconds": run.seconds}
        if run.errors:
            raise GenerationError(f"{self.name}: generation failed: {run.errors[0]}") from run.errors[0]

    def complete(self, prompt: str | Sequence[dict[str, Any]], max_tokens: int = 256, temperature: float = 0.0,
                 stop: list[str] | None = None, seed: int | None = None, images: Sequence[Any] = ()) -> str:
        return "".join(self.stream(prompt, max_tokens, temperature, stop, seed, images))


class _Run:
    """One generation in a worker thread, streamed; `halt` stops it early (a stop string was seen)."""

    def __init__(self, vlm: TransformersVLM, inputs: Any, max_tokens: int, temperature: float,
                 seed: int | None) -> None:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer
        self.halt, self.errors = threading.Event(), []
        halt = self.halt

        class _Halt(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kw: Any) -> bool:
                return halt.is_set()

        self.streamer = TextIteratorStreamer(vlm.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kw = dict(**inputs, max_new_tokens=max_tokens, streamer=self.streamer, do_sample=temperature > 0,
                  stopping_criteria=StoppingCriteriaList([_Halt()]))
        if temperature > 0:
            kw["temperature"] = temperature
        self.t0 = time.perf_counter()
        self.worker = threading.Thread(target=self._generate, args=(vlm.model, kw, seed), daemon=True)
        self.worker.start()

    def _generate(self, model: Any, kw: dict[str, Any], seed: int | None) -> None:
        import torch
        try:
            if seed is not None:
                torch.manual_seed(seed)
            with torch.inference_mode():
                model.generate(**kw)
        except BaseException as exc:  # noqa: BLE001 - reported by the consuming thread
            self.errors.append(exc)
            self.streamer.end()

    def finish(self) -> None:
        self.halt.set()
        self.worker.join()
        self.seconds = time.perf_counter() - self.t0
