"""The event schema: records round-trip, anything else is refused, and Lua has no hand-made
event (every script publishes through the generated packers)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatserver import events
from chatserver.core.backoff import retry_delay_ms, should_give_up
from chatserver.core.states import OPEN_STATUSES
from chatserver.core.timers import CONVERSATION_TIMERS, TimerKind
from chatserver.feed import FeedEvent
from chatserver.scripts import SCRIPT_NAMES, Script, prelude
from chatserver.signatures import sign, verify
from chatserver.site_events import HANDLERS

LUA = Path(events.__file__).parent / "lua"
STRATEGY = {"str": st.text(max_size=30), "int": st.integers(0, 2**62), "bool": st.booleans()}


def records() -> st.SearchStrategy[events.Event]:
    def build(cls: type[events.Event]) -> st.SearchStrategy[events.Event]:
        kwargs = {f.name: STRATEGY[str(f.type)] for f in dataclasses.fields(cls)}
        return st.builds(cls, **kwargs)

    return st.one_of(*(build(cls) for cls in events.RECORDS))


@given(records())
def test_every_record_round_trips(ev: events.Event) -> None:
    assert events.decode(events.encode(ev)) == ev


def test_one_record_and_one_handler_per_kind() -> None:
    assert {cls.KIND for cls in events.RECORDS} == set(events.EventKind)
    assert set(HANDLERS) == set(events.RECORDS)


def payload(**fields: Any) -> bytes:
    data: bytes = msgpack.packb(fields, use_bin_type=True)
    return data


GOOD = {"k": "agent_status", "agent": "a1", "status": "online"}


@pytest.mark.parametrize(
    "bad, why",
    [
        (b"\xc1", "not msgpack"),
        (payload(), "unknown kind"),
        (msgpack.packb(["agent_status", "a1", "online"]), "not a map"),  # the old arrays
        (payload(**{**GOOD, "k": "s"}), "unknown kind"),
        (payload(k="agent_status", agent="a1"), "missing ['status']"),
        (payload(**GOOD, extra=1), "unknown ['extra']"),
        (payload(**{**GOOD, "status": 1}), "agent_status.status: int, not str"),
        (payload(k="queue", department=None), "queue.department: NoneType, not str"),
        (
            payload(k="typing", conv="c", by="visitor", state=1, preview="", sender="", name=""),
            "int, not bool",
        ),
        (payload(k="deactivated", agent=True), "bool, not str"),
        (
            payload(
                k="ended",
                conv="c",
                by="agent",
                visitor="v",
                agent="",
                at=1,
                status="resolved",
                assigned_at=True,
            ),
            "bool, not int",
        ),
    ],
)
def test_anything_else_is_refused(bad: bytes, why: str) -> None:
    with pytest.raises(events.BadEvent) as err:
        events.decode(bad)
    assert why in str(err.value)


def test_the_packers_take_every_field_in_declared_order() -> None:
    lua = events.lua_packers()
    for cls in events.RECORDS:
        names = ", ".join(f.name for f in dataclasses.fields(cls))
        assert f"local function pack_{cls.KIND.value}({names})\n" in lua


def lua_sources() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in LUA.glob("*.lua")}


def test_no_script_packs_an_event_by_hand() -> None:
    for name, source in lua_sources().items():
        assert "cmsgpack.pack(" not in source, name
        for line in source.splitlines():
            if "'PUBLISH'" in line and "pack_" not in line:
                # limit.lua publishes the payload its caller encoded (chatserver.events.encode).
                assert name == "limit", (name, line)


def test_each_timer_a_script_names_is_a_timer_kind() -> None:
    kinds = {k.value for k in TimerKind}
    for name, source in lua_sources().items():
        for kind in re.findall(r"'([a-z]+)\|'", source):
            assert kind in kinds, (name, kind)
    # timer.lua branches on the kind it fires.
    for kind in re.findall(r"kind == '([a-z]+)'", lua_sources()["timer"]):
        assert kind in kinds, kind


def test_the_prelude_holds_the_python_definitions() -> None:
    text = prelude()
    for status in OPEN_STATUSES:
        assert f"{status.value} = true" in text
    assert ", ".join(f"'{k.value}'" for k in CONVERSATION_TIMERS) in text
    for name in SCRIPT_NAMES:
        assert Script(name).source.startswith(text)


def test_each_feed_type_a_script_writes_is_a_feed_event() -> None:
    types = {e.value for e in FeedEvent}
    written = set()
    for name, source in lua_sources().items():
        for kind in re.findall(r"feed\([^,]+,\s*'([a-z_.]+)',", source):
            assert kind in types, (name, kind)
            written.add(kind)
        for kind in re.findall(r"fk, '(conversation\.[a-z_]+)', '", source):
            written.add(kind)
    # finish() writes 'conversation.' .. status for the three endings.
    assert "'conversation.' .. status_to" in lua_sources()["_lib"]
    endings = {"conversation.resolved", "conversation.missed", "conversation.abandoned"}
    assert (
        types - written - endings - {"conversation.requeued", "conversation.transferred"} == set()
    )


def test_backoff_doubles_to_its_cap_with_jitter() -> None:
    assert retry_delay_ms(1, 1000, 600_000, 0.0) == 500
    assert retry_delay_ms(1, 1000, 600_000, 0.999) == 999
    assert retry_delay_ms(4, 1000, 600_000, 0.0) == 4000
    assert retry_delay_ms(60, 1000, 600_000, 0.999) <= 600_000
    assert not should_give_up(0, 10**12, 1)
    assert should_give_up(1000, 1000 + 86_400_000, 86_400_000)
    assert not should_give_up(1000, 1000 + 86_399_999, 86_400_000)


def test_signatures() -> None:
    header = sign("whsec_x", 1764590400, b'{"a":1}')
    assert header.startswith("v1=") and verify("whsec_x", 1764590400, b'{"a":1}', header)
    assert not verify("whsec_x", 1764590401, b'{"a":1}', header)
    assert not verify("whsec_y", 1764590400, b'{"a":1}', header)
