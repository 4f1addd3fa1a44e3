"""An auto room grows past six and shrinks again: browsers move p2p → MCU → p2p without leaving."""

from __future__ import annotations

from tests.browser.test_mcu_media import composite_flows
from tests.browser.test_p2p_media import media_flows
from tests.support.analysis import PALETTE, TONES_HZ
from tests.support.browser import Meeting, eventually
from tests.support.synthetic import SyntheticParticipant


async def test_browsers_follow_the_room_from_p2p_to_the_mcu_and_back(meeting: Meeting) -> None:
    room = await meeting.room(media_mode="auto")
    ann = await meeting.join(room, "ann", "host")
    bob = await meeting.join(room, "bob")
    await media_flows(ann, {"bob"})

    # Five synthetic people arrive: the 7th tips the room into the MCU.
    names = list(PALETTE)[:5]
    crowd = [
        await SyntheticParticipant.join(meeting.tenant, room, name, PALETTE[name], TONES_HZ[i], loud=False)
        for i, name in enumerate(names)
    ]
    try:
        for person in (ann, bob):
            await eventually(
                person.state, lambda s: s["mediaMode"] == "mcu", f"{person.identity} in MCU mode"
            )
            await composite_flows(person)
            # The mesh is gone: nothing peer-to-peer is left.
            await eventually(person.mesh_stats, lambda s: s["peers"] == [], f"{person.identity}: mesh closed")
        first_session = await ann.participant_id()

        # Three leave: at four people the room goes back to peer-to-peer, and the mesh carries media again.
        for synthetic in crowd[:3]:
            await synthetic.leave()
        for person in (ann, bob):
            await eventually(
                person.state, lambda s: s["mediaMode"] == "p2p", f"{person.identity} in p2p mode"
            )
        await media_flows(ann, {"bob"})
        await media_flows(bob, {"ann"})
        assert await ann.participant_id() == first_session  # nobody rejoined
    finally:
        for synthetic in crowd:
            await synthetic.leave()
