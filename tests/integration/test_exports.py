"""CSV exports on a real server: conversations (a Persian name survives Excel's BOM check, a
visitor called ``=cmd`` cannot run a formula, the row bound holds and says so, an agent
exports only their own chats) and the dashboard's report per day and per agent; 401 without a
session, 403 for an agent asking for the report; each export is in the audit log."""

from __future__ import annotations

import csv
import io
import urllib.parse

from chatserver.store import Store
from tests import client as cl
from tests.integration.account_support import audit_entries, store_call
from tests.integration.security_support import Reply, http
from tests.servers import LiveServer

PERSIAN = "مینا رضایی"


def _csv(reply: Reply) -> list[list[str]]:
    assert reply.status == 200, (reply.status, reply.body[:300])
    assert reply.headers["content-type"].startswith("text/csv")
    assert "attachment" in reply.headers["content-disposition"]
    assert reply.body.startswith("\ufeff")  # Excel reads UTF-8 only after a BOM
    return list(csv.reader(io.StringIO(reply.body[1:])))


async def _chat(live: LiveServer, agent: cl.Client, name: str, email: str) -> str:
    v, _ = await cl.visitor(live.ws_url, name=name, email=email)
    await v.send({"type": "message", "client_id": cl.client_id(), "text": "سلام"})
    conv_id: str = (await v.expect("ack"))["conversation_id"]
    await agent.expect("assigned", lambda f: f["conversation_id"] == conv_id)
    await agent.send(
        {"type": "message", "conversation_id": conv_id, "client_id": cl.client_id(), "text": "Hi"}
    )
    await agent.expect("ack")
    await agent.send({"type": "resolve", "conversation_id": conv_id})
    await v.expect("resolved")
    await v.close()
    return conv_id


async def test_conversation_and_report_exports(live_server: LiveServer) -> None:
    live = live_server
    sara = live.add_agent("sara@example.com", name="سارا", capacity=5)
    live.add_agent("reza@example.com", name="Reza", capacity=5)
    live.add_agent("boss@example.com", name="Boss", role="supervisor")
    sara_token = live.login("sara@example.com")
    reza_token = live.login("reza@example.com")
    boss_token = live.login("boss@example.com")

    agent, _ = await cl.agent(live.ws_url, sara_token)
    first = await _chat(live, agent, PERSIAN, "mina@example.com")
    evil = await _chat(live, agent, "=cmd|' /C calc'!A0", "+evil@example.com")
    third = await _chat(live, agent, "Ali", "ali@example.com")
    await agent.close()

    # No session: 401; an agent asking for the dashboard's report: 403.
    assert http(live.base_url, "/export/conversations.csv").status == 401
    assert http(live.base_url, "/export/dashboard.csv").status == 401
    assert http(live.base_url, "/export/dashboard.csv", token=sara_token).status == 403
    assert http(live.base_url, "/export/conversations.csv?limit=0", token=boss_token).status == 400
    assert http(live.base_url, "/export/conversations.csv?from=x", token=boss_token).status == 400

    rows = _csv(http(live.base_url, "/export/conversations.csv", token=boss_token))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["id", "created_at", "ended_at", "status"]
    by_id = {r[0]: dict(zip(header, r, strict=True)) for r in body}
    assert list(by_id) == [first, evil, third]  # oldest first
    mina = by_id[first]
    assert mina["visitor_name"] == PERSIAN and mina["agent_name"] == "سارا"
    assert mina["visitor_email"] == "mina@example.com"
    assert mina["status"] == "resolved" and mina["agent_id"] == sara
    assert mina["created_at"].endswith("Z") and mina["ended_at"].endswith("Z")
    assert int(mina["messages"]) >= 2 and mina["agent_replies"] == "1"
    assert mina["first_response_s"] != "" and mina["resolution_s"] != ""
    # Formula injection: the cells are text, not formulas.
    assert by_id[evil]["visitor_name"] == "'=cmd|' /C calc'!A0"
    assert by_id[evil]["visitor_email"] == "'+evil@example.com"

    # The bound: two rows, then a row that says the file was cut.
    cut = _csv(http(live.base_url, "/export/conversations.csv?limit=2", token=boss_token))
    assert [r[0] for r in cut[1:3]] == [first, evil]
    assert len(cut) == 4 and cut[3][0].startswith("# ") and "2" in cut[3][0]
    # ... in the reader's language.
    fa = http(
        live.base_url,
        "/export/conversations.csv?limit=1",
        token=boss_token,
        headers={"Accept-Language": "fa-IR"},
    )
    assert "ردیف" in _csv(fa)[-1][0]

    # Filters: by agent name part, by status.
    by_name = "/export/conversations.csv?" + urllib.parse.urlencode({"agent": "سا"})
    assert len(_csv(http(live.base_url, by_name, token=boss_token))) == 4
    missed = http(live.base_url, "/export/conversations.csv?status=missed", token=boss_token)
    assert _csv(missed)[1:] == []

    # An agent exports only the conversations they held: Reza none, Sara all three.
    assert _csv(http(live.base_url, "/export/conversations.csv", token=reza_token))[1:] == []
    assert len(_csv(http(live.base_url, "/export/conversations.csv", token=sara_token))) == 4

    days = _csv(http(live.base_url, "/export/dashboard.csv?rows=days", token=boss_token))
    day = dict(zip(days[0], days[1], strict=True))
    assert len(days) == 2 and day["started"] == "3" and day["resolved"] == "3"
    assert day["first_response_median_s"] != ""
    agents = _csv(http(live.base_url, "/export/dashboard.csv?rows=agents", token=boss_token))
    per_agent = {r[2]: dict(zip(agents[0], r, strict=True)) for r in agents[1:]}
    assert per_agent["سارا"]["chats_handled"] == "3"
    old = http(live.base_url, "/export/dashboard.csv?from=2020-01-01", token=boss_token)
    assert old.status == 400

    logged = audit_entries(live, action="csv_export")
    assert len(logged) >= 9
    assert any("conversations" in e.detail and e.actor_id == sara for e in logged)
    assert any("dashboard_agents" in e.detail for e in logged)


def test_the_walk_keeps_every_conversation_once_across_ties(live_server: LiveServer) -> None:
    """Pages of 3 over conversations created in the same milliseconds: none lost or repeated,
    the range's ends respected (start included, end excluded)."""
    ids = [f"c_{i:02}" for i in range(10)]
    scores = {cid: 1000 + (i // 4) for i, cid in enumerate(ids)}  # ties of four
    scores["c_early"], scores["c_late"] = 999, 1003

    async def walk(store: Store) -> list[str]:
        await store.r.zadd(store.k.conversation_index("ties"), scores)
        seen: list[str] = []
        async for page in store.conversations_between("ties", 1000, 1003, page=3):
            assert len(page) <= 3
            seen += page
        return seen

    assert store_call(live_server, walk) == ids
