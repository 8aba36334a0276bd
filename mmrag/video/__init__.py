"""Video: keyframes (OpenCV), shots and segments, transcripts (faster-whisper), moment retrieval.

`find_moments(lib, video, query, k=5, **opts)` (also `Library.moments`) returns the best time windows of
one ingested video for a query; `search_hook.video_moments` is the hit processor that makes `search`
return video hits as moments. `reader.py` ingests video files.
"""
from ..errors import VideoError
from .moments import available_signals, find_moments, relevance_curve
from .probe import VideoInfo, probe
from .reader import VIDEO_EXTS, read_video
from .search_hook import moment_hits, video_moments

__all__ = ["VIDEO_EXTS", "VideoError", "VideoInfo", "available_signals", "find_moments", "moment_hits", "probe",
           "read_video", "relevance_curve", "video_moments"]
