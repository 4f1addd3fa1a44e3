"""Recording a peer-to-peer room from the web client: two Chromium participants, both in the file.

A p2p room has no composite, so starting a recording moves its media to the MCU for as long
as the recording runs; everyone sees the "Recording" badge; only hosts and moderators get
the button.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import av
import numpy as np
from playwright.async_api import expect

from tests.media.test_recording import download, wait_recording
from tests.support.browser import Meeting, eventually

#: Seconds the host records on once both cameras show.
RECORD_BOTH_FOR = 2.5


def _camera_fraction(half: np.ndarray[Any, Any]) -> float:
    """Share of the picture showing Chromium's fake camera (green dominates), not a placeholder.

    The same test as ``BrowserParticipant.composite_camera_halves`` applies in the page.
    """
    red, green, blue = (half[..., c].astype(np.int32) for c in range(3))
    return float(np.count_nonzero((green > 40) & (green > red + 30) & (green > blue + 30))) / red.size


def _halves(frame: np.ndarray[Any, Any]) -> tuple[float, float]:
    middle = frame.shape[1] // 2
    return _camera_fraction(frame[:, :middle]), _camera_fraction(frame[:, middle:])


async def test_a_host_records_a_p2p_room_and_the_file_shows_both_people(meeting: Meeting) -> None:
    room = await meeting.room()
    host, guest = await meeting.join_all(room, ("hana", "host"), ("gus", "attendee"))
    await expect(host.page.get_by_test_id("toggle-recording")).to_be_visible()
    await expect(guest.page.get_by_test_id("toggle-recording")).to_be_hidden()

    await host.page.get_by_test_id("toggle-recording").click()
    for person in (host, guest):
        await expect(person.page.get_by_test_id("recording-indicator")).to_be_visible()
        await eventually(person.state, lambda s: s["mediaMode"] == "mcu", f"{person.identity} in the MCU")
    # Record on for a while once the composite everyone sees (the picture the recorder writes)
    # shows both cameras: on a busy machine the move to the MCU can take many seconds.
    await eventually(
        host.composite_camera_halves,
        lambda halves: halves is not None and min(halves) > 0.3,
        "both cameras in the host's composite",
        timeout=45,
    )
    await asyncio.sleep(RECORD_BOTH_FOR)
    began = time.monotonic()
    await expect(host.page.get_by_test_id("toggle-recording")).to_have_text("Stop recording")
    await host.page.get_by_test_id("toggle-recording").click()
    for person in (host, guest):
        await expect(person.page.get_by_test_id("recording-indicator")).to_be_hidden()
        # The recording is over: the room is peer-to-peer again.
        await eventually(person.state, lambda s: s["mediaMode"] == "p2p", f"{person.identity} back in p2p")
    assert time.monotonic() - began < 15

    listed = (await meeting.tenant.http.get("/recordings", params={"room": room})).json()["recordings"]
    assert len(listed) == 1 and listed[0]["started_by"] == "Hana"
    ready = await wait_recording(meeting.tenant, listed[0]["id"], {"ready", "failed"})
    assert ready["state"] == "ready", ready
    with av.open(str(await download(meeting.tenant, ready["id"]))) as container:
        frames = [(f.time, f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
    # Two tiles side by side, each a live camera (a tile without video is a dark placeholder):
    # from when both cameras reached the composite to the end, the file shows both people.
    both = [t for t, f in frames if min(_halves(f)) > 0.3]
    assert both and both[-1] == frames[-1][0], [_halves(f) for _, f in frames[-10:]]
    assert both[-1] - both[0] >= RECORD_BOTH_FOR - 0.5, (both[0], both[-1], len(frames))
