"""A scripted week on the real store, with an injected clock, where two departments keep
different office hours: each chat's SLA clock pauses by its own department's hours, and a
transfer changes them from then on, figure by figure.

The site works Monday to Friday, 09:00-17:00 in Berlin; *Sales* has its own hours, Monday to
Saturday 08:00-20:00; *پشتیبانی* (support, Persian) keeps the site's. First-response target
120 s (at risk after 96 s); every other timer is off. The week is that of 2024-10-21, whose
Sunday the clocks in Berlin go back an hour. A visitor's message does not tell the store its
department, so its timer is set at the earliest risk point of the site's clocks and, woken
early, waits on for its own.

Hand-worked figures (business = real time while the chat's department is open):

| chat | department | clock starts | at risk | breach | business before the transfer |
|---|---|---|---|---|---|
| sales | Sales | Fri 16:59:00 | Fri 17:00:36 | Fri 17:01:00 | - |
| support | support | Fri 16:59:00 | Mon 09:00:36 | Mon 09:01:00 | - |
| late | Sales, to support Fri 19:59:30 | Fri 19:59:00 | Mon 09:01:06 | Mon 09:01:30 | 30 s |
| weekend | support, to Sales Sat 11:00 | Sat 10:00:00 | Sat 11:01:36 | Sat 11:02:00 | 0 s |
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from chatserver.core.department_hours import CHANGES_FIELD
from chatserver.embedded_redis import EmbeddedRedis
from chatserver.feed import payload
from chatserver.store import Store
from tests.integration.security_support import csrf, http
from tests.integration.test_sla_week import BERLIN, OFF, WEEKDAYS, Week, at
from tests.servers import LiveServer

SITE = "depts"
SUPPORT = "پشتیبانی"
S, MIN, H = 1000, 60_000, 3_600_000
SALES_DAYS = {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")}
SETTINGS = {
    "name": "Departments",
    "allowed_origins": "*",
    "departments": f"Sales,{SUPPORT}",
    "office_hours": json.dumps({"tz": "Europe/Berlin", "days": WEEKDAYS}),
    "department_hours": json.dumps({"Sales": {"tz": "Europe/Berlin", "days": SALES_DAYS}}),
    "sla_first_response_s": "120",
    "sla_next_response_s": "300",
    **OFF,
}


class DepartmentWeek(Week):
    async def opens_in(self, name: str, department: str, when: int) -> None:
        self.n += 1
        visitor = f"v_dept{self.n}"
        _, conv = await self.s.open_conversation(
            self.site, visitor, self.t(when), department, policy=await self.policy()
        )
        self.convs[name] = (conv, visitor)
        await self.says(name, when)

    async def transfers(self, name: str, department: str, when: int) -> None:
        conv = self.convs[name][0]
        await self.s.transfer_to_department(
            self.site, conv, self.agent, "Sara", department, "", self.t(when)
        )

    async def escalations(self) -> list[dict[str, Any]]:
        """The sla.at_risk and sla.breached events of the feed, as a webhook receives them."""
        entries = await self.s.feed_after(self.site, "0-0", 1000)
        names = {cid: name for name, (cid, _) in self.convs.items()}
        return [
            {
                "type": p["type"],
                "chat": names[p["conversation_id"]],
                "at": p["created_at"],
                "business": p["data"]["business_waited_ms"],
            }
            for p in (payload(self.site, eid, fields) for eid, fields in entries)
            if p["type"] in ("sla.at_risk", "sla.breached")
        ]


@pytest.fixture
async def store(redis_server: EmbeddedRedis) -> AsyncIterator[Store]:
    s = Store.from_url(redis_server.url)
    yield s
    await s.close()


async def test_two_departments_pause_their_clocks_by_their_own_hours(store: Store) -> None:
    w = DepartmentWeek(store, SITE)
    await w.start(SETTINGS)

    # --- Friday afternoon: one chat in each department, a minute before the site closes ---
    await w.opens_in("sales", "Sales", at("fri", "16:59:00"))
    await w.opens_in("support", SUPPORT, at("fri", "16:59:00"))
    # Both timers first wake at the earliest risk point of the site's clocks (Sales').
    assert await w.due("frt", "sales") == at("fri", "17:00:36")
    assert await w.due("frt", "support") == at("fri", "17:00:36")
    assert await w.tick(at("fri", "17:00:36")) == 0  # one escalates, the other waits
    assert await w.due("frt", "sales") == at("fri", "17:01:00")  # its deadline
    assert await w.due("frt", "support") == at("mon2", "09:00:36")  # its own risk point
    assert await w.tick(at("fri", "17:01:00") - 1) == 0
    assert await w.tick(at("fri", "17:01:00")) == 1  # Sales breaches, support does not
    sla = await w.sla(at("fri", "17:30:00"))
    assert (sla["sales"]["elapsed_ms"], sla["sales"]["state"]) == (31 * MIN, "breached")
    assert (sla["support"]["elapsed_ms"], sla["support"]["state"]) == (60 * S, "ok")

    # --- Friday evening: a Sales chat a minute before Sales closes, sent to support -------
    await w.opens_in("late", "Sales", at("fri", "19:59:00"))
    await w.claims("late", at("fri", "19:59:10"))
    await w.transfers("late", SUPPORT, at("fri", "19:59:30"))
    conv = await w.conv("late")
    assert conv["department"] == SUPPORT
    assert json.loads(conv[CHANGES_FIELD]) == [[str(at("fri", "19:59:30")), "Sales"]]
    # The transfer brings its timer forward, to be judged again under the new hours.
    assert await w.due("frt", "late") == at("fri", "19:59:30")
    assert await w.tick(at("fri", "19:59:30")) == 0
    # 30 s counted under Sales' hours; 66 s more on Monday.
    assert await w.due("frt", "late") == at("mon2", "09:01:06")

    # --- Saturday: only Sales is open --------------------------------------------------
    await w.opens_in("weekend", SUPPORT, at("sat", "10:00:00"))
    assert await w.due("frt", "weekend") == at("sat", "10:01:36")  # Sales' risk point
    assert await w.tick(at("sat", "10:01:36")) == 0
    assert await w.due("frt", "weekend") == at("mon2", "09:01:36")
    await w.claims("weekend", at("sat", "10:30:00"))
    await w.transfers("weekend", "Sales", at("sat", "11:00:00"))
    assert await w.tick(at("sat", "11:00:00")) == 0
    assert await w.due("frt", "weekend") == at("sat", "11:01:36")  # from the transfer on
    sla = await w.sla(at("sat", "11:01:00"))
    assert (sla["weekend"]["elapsed_ms"], sla["weekend"]["state"]) == (60 * S, "ok")
    # Not retroactive: the hour of waiting on the site's (closed) hours counts nothing, and
    # the 30 s "late" had in Sales stay counted.
    assert (sla["late"]["elapsed_ms"], sla["late"]["state"]) == (30 * S, "ok")
    assert (sla["support"]["elapsed_ms"], sla["support"]["state"]) == (60 * S, "ok")
    sla = await w.sla(at("sat", "11:01:40"))
    assert (sla["weekend"]["elapsed_ms"], sla["weekend"]["state"]) == (100 * S, "at_risk")
    assert await w.tick(at("sat", "11:01:36")) == 0  # at risk
    assert await w.due("frt", "weekend") == at("sat", "11:02:00")
    assert await w.tick(at("sat", "11:02:00")) == 1

    # --- Sunday: nothing; Monday: the site's hours run again ------------------------------
    assert await w.tick(at("sun", "12:00:00")) == 0
    assert await w.tick(at("mon2", "09:00:36")) == 0  # support at risk
    assert await w.tick(at("mon2", "09:01:00")) == 1  # support breaches
    assert await w.tick(at("mon2", "09:01:06")) == 0  # late at risk
    sla = await w.sla(at("mon2", "09:01:10"))
    assert (sla["late"]["elapsed_ms"], sla["late"]["state"]) == (100 * S, "at_risk")
    assert await w.tick(at("mon2", "09:01:30") - 1) == 0
    assert await w.tick(at("mon2", "09:01:30")) == 1  # late breaches

    # --- what was recorded, figure by figure ---------------------------------------------
    assert await w.escalations() == [
        {"type": "sla.at_risk", "chat": "sales", "at": at("fri", "17:00:36"), "business": 96 * S},
        {"type": "sla.breached", "chat": "sales", "at": at("fri", "17:01:00"), "business": 120 * S},
        {"type": "sla.at_risk", "chat": "weekend", "at": at("sat", "11:01:36"), "business": 96 * S},
        {
            "type": "sla.breached",
            "chat": "weekend",
            "at": at("sat", "11:02:00"),
            "business": 120 * S,
        },
        {
            "type": "sla.at_risk",
            "chat": "support",
            "at": at("mon2", "09:00:36"),
            "business": 96 * S,
        },
        {
            "type": "sla.breached",
            "chat": "support",
            "at": at("mon2", "09:01:00"),
            "business": 120 * S,
        },
        {"type": "sla.at_risk", "chat": "late", "at": at("mon2", "09:01:06"), "business": 96 * S},
        {"type": "sla.breached", "chat": "late", "at": at("mon2", "09:01:30"), "business": 120 * S},
    ]
    waited = {b["chat"]: b["waited_ms"] for b in await w.breaches()}
    assert waited == {
        "sales": 120 * S,
        "weekend": H + 2 * MIN,
        "support": 65 * H + 2 * MIN,  # the clocks went back: one more hour
        "late": 62 * H + 2 * MIN + 30 * S,
    }
    assert BERLIN.key == "Europe/Berlin"


async def test_a_take_over_to_another_departments_queue_changes_the_hours_too(
    store: Store,
) -> None:
    w = DepartmentWeek(store, SITE)
    await w.start(SETTINGS)
    boss = await store.create_agent(
        "boss@depts.example", "Boss", "unused-hash", site=SITE, role="supervisor"
    )
    await w.opens_in("saturday", "Sales", at("sat", "10:00:00"))
    await w.claims("saturday", at("sat", "10:00:10"))
    conv = w.convs["saturday"][0]
    # Thirty seconds in Sales, then back to support's queue, whose hours are closed.
    await store.take_over(
        SITE, conv, boss, "Boss", w.agent, w.t(at("sat", "10:00:30")), department=SUPPORT
    )
    assert await w.due("frt", "saturday") == at("sat", "10:00:30")
    assert await w.tick(at("sat", "10:00:30")) == 0
    assert await w.due("frt", "saturday") == at("mon2", "09:01:06")
    sla = await w.sla(at("sat", "18:00:00"))
    assert (sla["saturday"]["elapsed_ms"], sla["saturday"]["state"]) == (30 * S, "ok")
    # Back in a department with its own hours before the clock ends: both moves are kept.
    await w.claims("saturday", at("sat", "18:00:00"))
    await w.transfers("saturday", "Sales", at("sat", "18:01:00"))
    moves = json.loads((await w.conv("saturday"))[CHANGES_FIELD])
    assert moves == [[str(at("sat", "10:00:30")), "Sales"], [str(at("sat", "18:01:00")), SUPPORT]]
    assert await w.tick(at("sat", "18:01:00")) == 0
    assert await w.due("frt", "saturday") == at("sat", "18:02:06")
    # Answered: no clock runs, and the next transfer keeps no log.
    await w.claims("saturday", at("sat", "18:01:30"))
    await w.replies("saturday", at("sat", "18:01:40"))
    await w.transfers("saturday", SUPPORT, at("sat", "18:02:00"))
    assert (await w.conv("saturday"))[CHANGES_FIELD] == ""


# --- the admin page, over HTTP --------------------------------------------------------------
def _site_form(csrf_token: str, **extra: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf_token,
        "name": "Demo",
        "allowed_origins": "*",
        "departments": f"Sales, {SUPPORT}",
        "tz": "Europe/Berlin",
        **{f"hours_{d}": "09:00-17:00" for d in WEEKDAYS},
    }
    policy = {
        "agent_grace_s": "60",
        "assign_timeout_s": "120",
        "sla_first_response_s": "60",
        "sla_next_response_s": "120",
        "sla_breach_reassign_s": "0",
        "nudge_after_s": "300",
        "park_after_s": "300",
        "queue_timeout_s": "300",
        "follow_up_after_s": "14400",
        "visitor_grace_s": "120",
        "abandon_after_s": "1800",
        "keep_place_s": "600",
        "reopen_window_s": "86400",
    }
    return {**form, **policy, **extra}


async def test_the_admin_sets_a_departments_own_hours(live_server: LiveServer) -> None:
    live = live_server
    live.add_agent("root@example.com", role="admin", name="Root")
    root = live.login("root@example.com")
    store = Store.from_url(live.redis_url)
    try:
        await store.update_site("demo", {"departments": f"Sales,{SUPPORT}"})
        page = await asyncio.to_thread(http, live.base_url, "/admin/sites/demo", token=root)
        assert page.status == 200
        # One row per department, both on the site's hours; the Persian name isolated.
        assert page.body.count('data-testid="dept-hours-row"') == 2
        assert f'<bdi dir="auto">{SUPPORT}</bdi>' in page.body
        assert 'name="dh1_mode" value="site" checked' in page.body

        cookie = await asyncio.to_thread(csrf, live.base_url, root, "/admin/sites/demo")
        token = cookie["cs_csrf"]
        # A typo is refused, naming the department, and what was typed stays on the page.
        typo = _site_form(
            token,
            dh0_name="Sales",
            dh0_mode="site",
            dh1_name=SUPPORT,
            dh1_mode="own",
            dh1_tz="Asia/Tehran",
            dh1_sat="9-17",
        )
        refused = await asyncio.to_thread(
            http, live.base_url, "/admin/sites/demo", typo, token=root, cookies=cookie
        )
        assert refused.status == 400
        assert f"{SUPPORT}: Sat: write hours like 09:00-17:00, not &#39;9-17&#39;." in refused.body
        assert 'name="dh1_sat" dir="ltr" value="9-17"' in refused.body
        assert (await store.get_site("demo") or {}).get("department_hours", "") == ""

        good = {**typo, "dh1_sat": "09:00-17:00, 18:00-20:00"}
        saved = await asyncio.to_thread(
            http, live.base_url, "/admin/sites/demo", good, token=root, cookies=cookie
        )
        assert saved.status == 303
        stored = json.loads((await store.get_site("demo") or {})["department_hours"])
        assert stored == {
            SUPPORT: {
                "tz": "Asia/Tehran",
                "days": {"sat": [["09:00", "17:00"], ["18:00", "20:00"]]},
            }
        }
        page = await asyncio.to_thread(http, live.base_url, "/admin/sites/demo", token=root)
        assert 'name="dh1_mode" value="own" checked' in page.body
        assert 'value="09:00-17:00, 18:00-20:00"' in page.body
        assert 'name="dh0_mode" value="site" checked' in page.body

        # A setting written by hand with a typo is pointed out on the page.
        await store.update_site("demo", {"department_hours": '{"Sales": {"tz": "Mars/Base"}}'})
        page = await asyncio.to_thread(http, live.base_url, "/admin/sites/demo", token=root)
        assert 'data-testid="department-hours-problem"' in page.body
        assert "Sales: unknown time zone" in page.body
    finally:
        await store.close()


async def test_the_widget_config_tells_each_departments_hours(live_server: LiveServer) -> None:
    live = live_server
    store = Store.from_url(live.redis_url)
    always = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    try:
        await store.update_site(
            "demo",
            {
                "departments": f"Sales,{SUPPORT}",
                "office_hours": json.dumps({"tz": "UTC", "days": {}}),  # the site never opens
                "department_hours": json.dumps({"Sales": {"tz": "UTC", "days": always}}),
            },
        )
        for _ in range(100):  # the node's site-settings cache lives a moment
            reply = await asyncio.to_thread(http, live.base_url, "/api/widget/config?site=demo")
            body = json.loads(reply.body)
            if body.get("departments_open"):
                break
            await asyncio.sleep(0.05)
        assert body["open"] is False and body["next_open"] is None
        assert body["departments_open"] == {"Sales": {"open": True, "next_open": None}}
    finally:
        await store.close()
