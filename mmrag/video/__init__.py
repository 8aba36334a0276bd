"""Video: keyframes (OpenCV), shots and segments, transcripts (faster-whisper), moment retrieval.

`find_moments(lib, video, query, k=5, **opts)` (also `Library.moments`) returns the best time windows of
one ingested video for a query; `moment_hits` is the hook that makes `search` return video hits as
moments. The reader that ingests video files is `mmrag.ingest.video`.
"""
from .moments import available_signals, find_moments, relevance_curve
from .probe import VideoError, VideoInfo, probe
from .search_hook import moment_hits

__all__ = ["VideoError", "VideoInfo", "available_signals", "find_moments", "moment_hits", "probe",
           "relevance_curve"]
