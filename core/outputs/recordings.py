"""Recordings on disk: their files, what the API shows of them, and the job that finishes them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from podium.core.db.tables import RoomOutput
from podium.core.errors import PodiumError
from podium.core.outputs.files import FileFacts, finalize_recording
from podium.core.rooms import RoomInfo, get_room_by_id
from podium.core.settings import Settings

__all__ = ["FINALIZE_JOB", "Notify", "RecordingInfo", "RecordingStore"]

log = logging.getLogger(__name__)

FINALIZE_JOB = "recording_finalize"

Notify = Callable[[str, str, Any], Awaitable[None]]


class RecordingInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A recording as the API shows it."""

    id: str
    room: str
    #: recording | processing | ready | failed
    state: str
    started_at: datetime
    stopped_at: datetime | None
    #: Seconds of media in the file (for a failed recording: what was kept).
    duration: float
    size: int
    error: str | None
    started_by: str
    download_url: str | None
    thumbnail_url: str | None


class RecordingStore:
    """Recordings on disk: where their files live, what the API shows, and the job that finishes them.

    ``podium worker`` runs the job with this alone; ``Outputs`` adds starting and stopping."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.data_dir.resolve()
        #: Webhook events: ``notify(tenant_slug, event_type, data)``; set by the app.
        self.notify: Notify | None = None

    # ---- paths -----------------------------------------------------------------------------------------

    def recording_dir(self, tenant: str) -> Path:
        return self.root / "recordings" / tenant

    def raw_path(self, tenant: str, uid: str) -> Path:
        return self.recording_dir(tenant) / f"{uid}.part.mp4"

    def file_path(self, tenant: str, uid: str) -> Path:
        return self.recording_dir(tenant) / f"{uid}.mp4"

    def thumbnail_path(self, tenant: str, uid: str) -> Path:
        return self.recording_dir(tenant) / f"{uid}.jpg"

    def hls_dir(self, uid: str) -> Path:
        return self.root / "live" / uid

    def recording_info(self, row: dict[str, Any], room_slug: str) -> RecordingInfo:
        ready = row["state"] in ("ready", "failed") and row["duration"] > 0
        base = f"/api/v1/recordings/{row['uid']}"
        return RecordingInfo(
            id=row["uid"],
            room=room_slug,
            state=row["state"],
            started_at=row["started_at"],
            stopped_at=row["stopped_at"],
            duration=row["duration"],
            size=row["size"],
            error=row["error"],
            started_by=row["started_by"],
            download_url=f"{base}/download" if ready else None,
            thumbnail_url=f"{base}/thumbnail" if ready and row["state"] == "ready" else None,
        )

    async def _webhook(self, room: RoomInfo, event: str, data: dict[str, Any]) -> None:
        if self.notify is not None:
            body = {"room": {"id": room.id, "slug": room.slug, "name": room.name}, **data}
            await self.notify(room.tenant, event, body)

    # ---- the finalize job ------------------------------------------------------------------------------

    async def finalize(self, output_id: int) -> None:
        """Job: remux the file with its index, read duration and size, make a thumbnail; idempotent."""
        row = (
            await RoomOutput.select(*RoomOutput.all_columns(), RoomOutput.tenant.slug.as_alias("tenant_slug"))
            .where(RoomOutput.id == output_id)
            .first()
        )
        if row is None or row["state"] != "processing":
            return
        tenant, uid = row["tenant_slug"], row["uid"]
        raw, final = Path(row["path"]), self.file_path(tenant, uid)
        error: str | None = row["error"]
        values: dict[Any, Any] = {}
        try:
            facts = await asyncio.to_thread(_process, raw, final, self.thumbnail_path(tenant, uid))
            if facts is not None:
                values = {RoomOutput.duration: facts.duration, RoomOutput.size: facts.size}
                if facts.duration <= 0:
                    error = error or "the recording holds no media"
            values[RoomOutput.path] = str(final)
        except Exception as exc:
            log.exception("finalizing recording %s failed", uid)
            error = f"the recording could not be processed: {exc}"
        state = "failed" if error else "ready"
        await RoomOutput.update({RoomOutput.state: state, RoomOutput.error: error, **values}).where(
            RoomOutput.id == output_id
        )
        row = await RoomOutput.select().where(RoomOutput.id == output_id).first()
        assert row is not None
        try:
            room = await get_room_by_id(row["room"], tenant)
        except PodiumError:
            return
        info = self.recording_info(row, room.slug)
        await self._webhook(room, f"recording.{state}", {"recording": msgspec.to_builtins(info)})


def _process(raw: Path, final: Path, thumbnail: Path) -> FileFacts | None:
    """Finish ``raw`` into ``final``; ``None`` if an earlier run already did (it died before saying so)."""
    if raw.exists():
        facts = finalize_recording(raw, final, thumbnail)
        raw.unlink(missing_ok=True)
        return facts
    if final.exists():
        return None
    raise FileNotFoundError(f"the recording file {raw.name} is missing")
