"""Recordings and live streams: state, files, RTMP destinations, jobs (core's side of media outputs)."""

from podium.core.outputs.recordings import FINALIZE_JOB, RecordingInfo, RecordingStore
from podium.core.outputs.service import Outputs, StreamInfo

__all__ = ["FINALIZE_JOB", "Outputs", "RecordingInfo", "RecordingStore", "StreamInfo"]
