"""The role-permission matrix: the single place that decides who may do what in a room."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["PERMISSIONS", "Action", "Role", "can", "can_act_on", "can_assign", "permissions_of"]


class Role(StrEnum):
    HOST = "host"
    MODERATOR = "moderator"
    ATTENDEE = "attendee"


class Action(StrEnum):
    CHAT_EVERYONE = "chat.everyone"
    CHAT_MODERATORS = "chat.moderators"
    CHAT_PRIVATE = "chat.private"
    KICK = "participant.kick"
    ASK_MUTE = "participant.ask_mute"
    SET_ROLE = "participant.set_role"
    #: Webinars: put a participant on stage (may publish) or take them off it.
    STAGE = "participant.stage"
    #: Lower someone else's raised hand (one's own needs no permission).
    LOWER_HAND = "participant.lower_hand"
    ADMIT = "lobby.admit"
    END_ROOM = "room.end"
    RECORD = "room.record"
    STREAM = "room.stream"
    BREAKOUTS = "room.breakouts"


_STAFF = frozenset({Role.HOST, Role.MODERATOR})
_EVERYONE = frozenset(Role)

PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.CHAT_EVERYONE: _EVERYONE,
    Action.CHAT_MODERATORS: _EVERYONE,
    Action.CHAT_PRIVATE: _EVERYONE,
    Action.KICK: _STAFF,
    Action.ASK_MUTE: _STAFF,
    Action.SET_ROLE: _STAFF,
    Action.STAGE: _STAFF,
    Action.LOWER_HAND: _STAFF,
    Action.ADMIT: _STAFF,
    Action.END_ROOM: frozenset({Role.HOST}),
    Action.RECORD: _STAFF,
    Action.STREAM: _STAFF,
    Action.BREAKOUTS: _STAFF,
}

_RANK = {Role.ATTENDEE: 1, Role.MODERATOR: 2, Role.HOST: 3}


def can(role: Role, action: Action) -> bool:
    """Whether ``role`` may perform ``action`` at all."""
    return role in PERMISSIONS[action]


def can_act_on(actor: Role, target: Role) -> bool:
    """Moderation reaches down the ranks only: a host acts on anyone, a moderator on attendees."""
    return actor is Role.HOST or _RANK[actor] > _RANK[target]


def can_assign(actor: Role, target: Role, new_role: Role) -> bool:
    """A role change needs rank over the target and may not grant more than the actor holds."""
    return can(actor, Action.SET_ROLE) and can_act_on(actor, target) and _RANK[new_role] <= _RANK[actor]


def permissions_of(role: Role) -> list[str]:
    """The actions ``role`` may perform, as sent to clients in ``welcome``."""
    return sorted(action.value for action, roles in PERMISSIONS.items() if role in roles)
