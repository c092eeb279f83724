"""The events that cross the site's pub/sub channel: one typed record per kind.

Every node subscribes to its sites' channels (chatserver.bus) and hands each decoded event to
the hub. An event travels as a msgpack map: ``k`` holds the kind, the other keys are the
record's fields by name. Lua scripts build them with the packers :func:`lua_packers`
generates from these records (``pack_<kind>(field, field, …)`` in the order declared here),
so Lua, Python and the decode tests share one definition.

The streams are the truth and pub/sub is only the doorbell: a node that misses an event
re-reads the streams (see chatserver.core.follow); an event that cannot be decoded is
logged and dropped, never guessed at.
"""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

import msgpack


class EventKind(StrEnum):
    MESSAGE = "message"  # a stored entry of a conversation's stream (visitor, agent, note, system)
    OPENED = "opened"  # a conversation was opened or reopened and queued
    ASSIGNED = "assigned"  # an agent took a conversation
    UNASSIGNED = "unassigned"  # an agent lost one (grace ran out, transferred away)
    ENDED = "ended"  # resolved, missed or abandoned
    QUEUE = "queue"  # a department's queue changed
    AGENT_STATUS = "agent_status"  # online, away or offline
    TYPING = "typing"
    READ = "read"
    VISITOR = "visitor"  # a visitor's details changed (name, e-mail, page)
    BREACH = "breach"  # a response-time target was missed
    AT_RISK = "at_risk"  # a response-time target is near (AT_RISK of it has passed)
    FOLLOW_UP = "follow_up"  # a visitor who left an e-mail still waits for a reply
    DEACTIVATED = "deactivated"  # an agent account was deactivated
    ACCOUNT = "account"  # an admin changed an agent account
    SIGNED_OUT = "signed_out"  # an agent signed out of one session
    LABELS = "labels"  # a conversation's labels changed
    NOTICE = "notice"  # the site's notice was posted, replaced or taken down


class BadEvent(ValueError):
    """A payload on the channel that is not one of these records."""


@dataclass(slots=True)
class Message:
    KIND: ClassVar[EventKind] = EventKind.MESSAGE
    conv: str
    id: str
    prev: str  # the id before it in the stream ('0-0' for the first): gaps show
    kind: str  # visitor, agent, bot, note or system
    sender: str
    name: str
    client_id: str
    text: str
    ts: int
    event: str  # the system event ('' for others)
    file: str = ""  # the attached file's metadata as JSON ('' for none: chatserver/files/)


@dataclass(slots=True)
class Opened:
    KIND: ClassVar[EventKind] = EventKind.OPENED
    conv: str
    visitor: str
    department: str


@dataclass(slots=True)
class Assigned:
    KIND: ClassVar[EventKind] = EventKind.ASSIGNED
    conv: str
    agent: str
    name: str
    visitor: str


@dataclass(slots=True)
class Unassigned:
    KIND: ClassVar[EventKind] = EventKind.UNASSIGNED
    conv: str
    agent: str
    reason: str  # the system event recorded in the stream (agent_left, transferred, …)


@dataclass(slots=True)
class Ended:
    KIND: ClassVar[EventKind] = EventKind.ENDED
    conv: str
    by: str  # visitor, agent, system
    visitor: str
    agent: str  # '' when nobody held it
    assigned_at: int  # ms; 0 when never assigned
    at: int  # ms
    status: str  # resolved, missed or abandoned


@dataclass(slots=True)
class Queue:
    KIND: ClassVar[EventKind] = EventKind.QUEUE
    department: str


@dataclass(slots=True)
class AgentStatus:
    KIND: ClassVar[EventKind] = EventKind.AGENT_STATUS
    agent: str
    status: str


@dataclass(slots=True)
class Typing:
    KIND: ClassVar[EventKind] = EventKind.TYPING
    conv: str
    by: str  # visitor or agent
    state: bool
    preview: str  # the visitor's draft, for agents only ('' when none)
    # An agent's (or joined supervisor's) id and name: the other agents following the
    # conversation see who types, and the typer's own sockets are not echoed to.
    sender: str = ""
    name: str = ""


@dataclass(slots=True)
class Read:
    KIND: ClassVar[EventKind] = EventKind.READ
    conv: str
    by: str  # visitor or agent
    id: str  # the last message id read


@dataclass(slots=True)
class VisitorChanged:
    KIND: ClassVar[EventKind] = EventKind.VISITOR
    conv: str
    visitor: str


@dataclass(slots=True)
class Breach:
    KIND: ClassVar[EventKind] = EventKind.BREACH
    conv: str
    clock: str  # first or next (response)
    agent: str


@dataclass(slots=True)
class Deactivated:
    KIND: ClassVar[EventKind] = EventKind.DEACTIVATED
    agent: str


@dataclass(slots=True)
class AtRisk:
    KIND: ClassVar[EventKind] = EventKind.AT_RISK
    conv: str
    clock: str  # first or next (response)
    agent: str


@dataclass(slots=True)
class FollowUp:
    KIND: ClassVar[EventKind] = EventKind.FOLLOW_UP
    conv: str


@dataclass(slots=True)
class AccountChanged:
    KIND: ClassVar[EventKind] = EventKind.ACCOUNT
    agent: str


@dataclass(slots=True)
class SignedOut:
    KIND: ClassVar[EventKind] = EventKind.SIGNED_OUT
    agent: str
    session: str  # the session's digest (chatserver.sessions.session_digest)


@dataclass(slots=True)
class LabelsChanged:
    KIND: ClassVar[EventKind] = EventKind.LABELS
    conv: str
    labels: str  # the label ids it holds now, space separated


@dataclass(slots=True)
class NoticeChanged:
    KIND: ClassVar[EventKind] = EventKind.NOTICE
    notice: str  # what visitors receive (JSON, core/notices.Notice.public); '' taken down


Event = (
    Message
    | Opened
    | Assigned
    | Unassigned
    | Ended
    | Queue
    | AgentStatus
    | Typing
    | Read
    | VisitorChanged
    | Breach
    | AtRisk
    | FollowUp
    | Deactivated
    | AccountChanged
    | SignedOut
    | LabelsChanged
    | NoticeChanged
)

RECORDS: tuple[type[Event], ...] = (
    Message,
    Opened,
    Assigned,
    Unassigned,
    Ended,
    Queue,
    AgentStatus,
    Typing,
    Read,
    VisitorChanged,
    Breach,
    AtRisk,
    FollowUp,
    Deactivated,
    AccountChanged,
    SignedOut,
    LabelsChanged,
    NoticeChanged,
)

_TYPES = {"str": str, "int": int, "bool": bool}
# kind -> (record, field names, their getter, field types), in declared order
_SCHEMA: dict[str, tuple[type[Event], tuple[str, ...], Any, tuple[type, ...]]] = {}
for _cls in RECORDS:
    _names = tuple(f.name for f in dataclasses.fields(_cls))
    _SCHEMA[_cls.KIND.value] = (
        _cls,
        _names,
        operator.itemgetter(*_names) if len(_names) > 1 else lambda d, n=_names[0]: (d[n],),
        tuple(_TYPES[str(f.type)] for f in dataclasses.fields(_cls)),
    )
assert len(_SCHEMA) == len(EventKind), "every kind has one record"


def fields_of(cls: type[Event]) -> tuple[str, ...]:
    return _SCHEMA[cls.KIND.value][1]


def encode(event: Event) -> bytes:
    data: dict[str, Any] = {"k": event.KIND.value}
    for name in fields_of(type(event)):
        data[name] = getattr(event, name)
    out: bytes = msgpack.packb(data, use_bin_type=True)
    return out


def decode(payload: bytes) -> Event:
    """The record a payload holds; :class:`BadEvent` when it is not exactly one (unknown
    kind, a field missing, unknown or of the wrong type). Every node decodes every event of
    its sites, so this is on the hot path: the checks run in C (itemgetter, map)."""
    try:
        data = msgpack.unpackb(payload, raw=False)
    except Exception as exc:
        raise BadEvent(f"not msgpack: {exc}") from None
    if type(data) is not dict:
        raise BadEvent("not a map")
    entry = _SCHEMA.get(data.pop("k", None))
    if entry is None:
        raise BadEvent("unknown kind")
    cls, names, get, types = entry
    try:
        values = get(data)
    except KeyError:
        values = None
    if values is None or len(data) != len(names):
        missing = sorted(set(names) - data.keys())
        extra = sorted(str(key) for key in data.keys() - set(names))
        raise BadEvent(f"{cls.KIND.value}: missing {missing}, unknown {extra}")
    # bool is an int to Python: comparing exact types, an int field never takes a bool.
    if tuple(map(type, values)) != types:
        for name, value, want in zip(names, values, types, strict=True):
            if type(value) is not want:
                raise BadEvent(
                    f"{cls.KIND.value}.{name}: {type(value).__name__}, not {want.__name__}"
                )
    return cls(*values)


def lua_packers() -> str:
    """The Lua functions the scripts publish with, one per kind (``pack_message`` …).

    Arguments in the order the record declares its fields; an argument that is nil leaves its
    field out, which :func:`decode` refuses, so a script must pass every field.
    """
    out = ["-- Generated by chatserver.events.lua_packers: one packer per event kind."]
    for cls in RECORDS:
        names = fields_of(cls)
        # A field with a default (added later, e.g. Message.file) may be left out by a
        # script written before it: the packer fills in the default.
        defaults = {
            f.name: f.default
            for f in dataclasses.fields(cls)
            if isinstance(f.default, str) and f.default == ""
        }
        body = ", ".join(
            f"{n} = {n} == nil and '' or {n}" if n in defaults else f"{n} = {n}" for n in names
        )
        out.append(
            f"local function pack_{cls.KIND.value}({', '.join(names)})\n"
            f"  return cmsgpack.pack({{k = '{cls.KIND.value}', {body}}})\nend"
        )
    return "\n".join(out) + "\n"
