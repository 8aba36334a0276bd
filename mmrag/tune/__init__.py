"""The retriever learns from the library's own data (`mmrag tune`): contrastive fine-tuning with mined
hard negatives and margin distillation from the fused ranking, on pairs from a file, from feedback in
the app, or written by the LLM; each tuned encoder is a version of its space that can be restored."""
from .pairs import Pair, feedback_pairs, load_pairs
from .run import TuneReport, activate, examples_for, tune, version_table
from .synthetic import synthetic_pairs

__all__ = ["Pair", "TuneReport", "activate", "examples_for", "feedback_pairs", "load_pairs", "synthetic_pairs",
           "tune", "version_table"]
