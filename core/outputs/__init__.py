"""Recordings and live streams: state, files, RTMP destinations, jobs (core's side of media outputs)."""

from podium.core.outputs.service import FINALIZE_JOB, Outputs, RecordingInfo, StreamInfo

__all__ = ["FINALIZE_JOB", "Outputs", "RecordingInfo", "StreamInfo"]
