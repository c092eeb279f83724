"""The REST API's handlers: each takes the request's context and its validated parameters
and body, and returns the JSON to send (or raises ApiError / StoreError)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from chatserver.agent_actions import site_departments, team_members
from chatserver.api.context import ApiError, Ctx
from chatserver.core.audit import AuditQuery
from chatserver.core.labels import (
    Label,
    LabelError,
    conversation_label_ids,
    parse_ids,
    resolve_labels,
)
from chatserver.core.search import parse_query
from chatserver.core.states import OPEN_STATUSES
from chatserver.events import VisitorChanged
from chatserver.files.canned import canned_items
from chatserver.frames import conversation_summary, stored_frame, visitor_summary
from chatserver.identity import text_problem
from chatserver.messages import Outgoing
from chatserver.protocol import STREAM_ID, valid_email
from chatserver.search import catch_up
from chatserver.store import StoreError
from chatserver.store.search import Filters, Viewer


async def _agent(ctx: Ctx, agent_id: str, field: str = "agent_id") -> dict[str, str]:
    account = await ctx.services.store.get_account(agent_id)
    if account is None or account.get("site") != ctx.site or account.get("active", "1") != "1":
        raise ApiError("not_found", "no such agent on this site", field)
    return account


async def _conversation(ctx: Ctx, conv_id: str) -> dict[str, str]:
    conv = await ctx.services.store.get_conversation(ctx.site, conv_id)
    if conv is None:
        raise ApiError("not_found", "no such conversation")
    return conv


def _summary(
    conv: dict[str, str], visitor: dict[str, str] | None, labels: Sequence[Label]
) -> dict[str, Any]:
    """A conversation as the API shows it; ``labels``: the site's (a deleted one's id, still
    in the conversation's field, is dropped here)."""
    out = conversation_summary(conv, visitor)
    out["resolved_at"] = int(conv["resolved_at"]) if conv.get("resolved_at") else None
    out["labels"] = [
        lab.as_dict() for lab in resolve_labels(conversation_label_ids(conv.get("labels")), labels)
    ]
    return out


async def _label_filter(ctx: Ctx, label: str | None) -> list[Label]:
    """The site's labels, after checking ``label`` (a filter) is one of them."""
    labels = await ctx.services.store.labels(ctx.site)
    if label is not None and all(lab.id != label for lab in labels):
        raise ApiError("invalid_request", "the site has no such label", "label")
    return labels


def _client_id(body: dict[str, Any]) -> str:
    # Without one the send is not idempotent: a retried request stores the text twice.
    return str(body.get("client_id") or f"api-{secrets.token_urlsafe(12)}")


def _receipt(conv_id: str, client_id: str, res: Any) -> dict[str, Any]:
    return {
        "id": res.id,
        "ts": res.ts,
        "conversation_id": conv_id,
        "client_id": client_id,
        "duplicate": res.duplicate,
    }


def _cursor(raw: str | None) -> tuple[int, str] | None:
    if not raw:
        return None
    ms, _, conv_id = raw.partition(".")
    if not ms.isdigit() or not conv_id:
        raise ApiError("invalid_request", "cursor is not one this API returned", "cursor")
    return int(ms), conv_id


# --- conversations ----------------------------------------------------------------------
async def list_conversations(
    ctx: Ctx,
    status: str | None = None,
    department: str | None = None,
    agent_id: str | None = None,
    visitor_id: str | None = None,
    q: str | None = None,
    label: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    labels = await _label_filter(ctx, label)
    if q and q.strip():
        return await _search_conversations(
            ctx, q, status, department, agent_id, visitor_id, label, labels, limit, cursor
        )

    def keep(c: dict[str, str]) -> bool:
        st = c.get("status", "")
        if status == "open" and st not in OPEN_STATUSES:
            return False
        if status not in (None, "open") and st != status:
            return False
        return (
            (department is None or c.get("department", "") == department)
            and (agent_id is None or c.get("agent", "") == agent_id)
            and (visitor_id is None or c.get("visitor", "") == visitor_id)
            and (label is None or label in conversation_label_ids(c.get("labels")))
        )

    store = ctx.services.store
    convs, position = await store.conversation_page(ctx.site, _cursor(cursor), limit, keep)
    visitors = await store.load_visitors(ctx.site, [c.get("visitor", "") for c in convs])
    return {
        "items": [_summary(c, v, labels) for c, v in zip(convs, visitors, strict=True)],
        "next_cursor": f"{position[0]}.{position[1]}" if position else None,
    }


async def _search_conversations(
    ctx: Ctx,
    q: str,
    status: str | None,
    department: str | None,
    agent_id: str | None,
    visitor_id: str | None,
    label: str | None,
    labels: Sequence[Label],
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """``GET /conversations?q=``: the search index (chatserver/search.py) with the whole
    site's view; department and visitor narrow the page afterwards (a short page then keeps
    its cursor, as the unsearched list does)."""
    store = ctx.services.store
    filters = Filters(agent=agent_id or "", status=status or "", label=label or "")
    await catch_up(store, ctx.site)
    hits = await store.search_hits(
        ctx.site, parse_query(q), filters, Viewer(), _cursor(cursor), limit
    )
    convs = [
        c
        for c in await store.get_conversations(ctx.site, hits.ids)
        if (department is None or c.get("department", "") == department)
        and (visitor_id is None or c.get("visitor", "") == visitor_id)
    ]
    visitors = await store.load_visitors(ctx.site, [c.get("visitor", "") for c in convs])
    return {
        "items": [_summary(c, v, labels) for c, v in zip(convs, visitors, strict=True)],
        "next_cursor": f"{hits.next[0]}.{hits.next[1]}" if hits.next else None,
    }


async def get_conversation(ctx: Ctx, conv_id: str) -> dict[str, Any]:
    conv = await _conversation(ctx, conv_id)
    visitor = await ctx.services.store.load_visitor(ctx.site, conv.get("visitor", ""))
    return _summary(conv, visitor, await ctx.services.store.labels(ctx.site))


async def set_labels(ctx: Ctx, conv_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Set a conversation's labels (open or resolved); consoles following it see them."""
    try:
        ids = parse_ids(body["labels"])
    except LabelError as exc:
        raise ApiError("invalid_request", str(exc), "labels") from None
    try:
        await ctx.services.store.change_labels(ctx.site, conv_id, "set", ids)
    except StoreError as exc:
        if exc.code == "unknown_label":
            message = f"the site has no label {exc.detail}"
            raise ApiError("invalid_request", message, "labels") from None
        raise
    return await get_conversation(ctx, conv_id)


async def list_labels(ctx: Ctx) -> dict[str, Any]:
    return {"items": [lab.as_dict() for lab in await ctx.services.store.labels(ctx.site)]}


async def list_messages(
    ctx: Ctx, conv_id: str, after: str | None = None, limit: int = 100
) -> dict[str, Any]:
    await _conversation(ctx, conv_id)
    page = await ctx.services.store.read_messages(ctx.site, conv_id, after, limit)
    links, now = ctx.services.files.links, ctx.services.hub.clock()
    return {
        "items": [stored_frame(conv_id, m, links, ctx.site, now) for m in page],
        "next_cursor": page[-1].id if len(page) == limit else None,
    }


def _text(ctx: Ctx, body: dict[str, Any]) -> str:
    text = str(body["text"])
    limit = ctx.services.settings.max_message_length
    if len(text) > limit:
        raise ApiError("invalid_request", f"text is longer than {limit} characters", "text")
    return text


async def _written(ctx: Ctx, conv_id: str, body: dict[str, Any], kind: str) -> Outgoing:
    """What an agent writes through the API (a message or a note), checked."""
    text = _text(ctx, body)
    account = await _agent(ctx, body["agent_id"])
    return Outgoing(
        ctx.site,
        conv_id,
        kind,
        body["agent_id"],
        account.get("name", ""),
        _client_id(body),
        text,
        ctx.now(),
    )


async def send_message(ctx: Ctx, conv_id: str, body: dict[str, Any]) -> dict[str, Any]:
    if "bot" in body:
        bot = body["bot"]
        msg = Outgoing(
            ctx.site,
            conv_id,
            "bot",
            bot.get("id", "bot"),
            bot["name"].strip(),
            _client_id(body),
            _text(ctx, body),
            ctx.now(),
        )
        res = await ctx.services.store.send_bot_message(msg)
        return _receipt(conv_id, msg.client_id, res)
    msg = await _written(ctx, conv_id, body, "agent")
    policy = await ctx.services.hub.lifecycle.policy(ctx.site)
    res = await ctx.services.store.send_message(msg, policy)
    return _receipt(conv_id, msg.client_id, res)


async def add_note(ctx: Ctx, conv_id: str, body: dict[str, Any]) -> dict[str, Any]:
    note = await _written(ctx, conv_id, body, "note")
    res = await ctx.services.store.add_note(note)
    return _receipt(conv_id, note.client_id, res)


async def assign(ctx: Ctx, conv_id: str, body: dict[str, Any]) -> dict[str, Any]:
    await _agent(ctx, body["agent_id"])
    await _conversation(ctx, conv_id)
    policy = await ctx.services.hub.lifecycle.policy(ctx.site)
    await ctx.services.store.claim(
        ctx.site, conv_id, [body["agent_id"]], ctx.now(), manual=True, policy=policy
    )
    return {"ok": True}


async def transfer(ctx: Ctx, conv_id: str, body: dict[str, Any]) -> dict[str, Any]:
    store, services = ctx.services.store, ctx.services
    holder = await _agent(ctx, body["agent_id"])
    note = body.get("note", "")
    if ("to_agent_id" in body) == ("department" in body):
        raise ApiError("invalid_request", "give to_agent_id or department", "to_agent_id")
    if "to_agent_id" in body:
        if body["to_agent_id"] == body["agent_id"]:
            raise ApiError("invalid_request", "it is that agent's already", "to_agent_id")
        await _agent(ctx, body["to_agent_id"], "to_agent_id")
        message_id = await store.transfer_to_agent(
            ctx.site,
            conv_id,
            body["agent_id"],
            holder.get("name", ""),
            body["to_agent_id"],
            note,
            ctx.now(),
            await services.hub.lifecycle.policy(ctx.site),
        )
    else:
        department = body["department"]
        offered = site_departments(
            await store.get_site(ctx.site), await store.departments(ctx.site)
        )
        if department and department not in offered:
            raise ApiError("invalid_request", "no such department", "department")
        message_id = await store.transfer_to_department(
            ctx.site, conv_id, body["agent_id"], holder.get("name", ""), department, note, ctx.now()
        )
    return {"ok": True, "message_id": message_id}


async def resolve(ctx: Ctx, conv_id: str, body: dict[str, Any]) -> dict[str, Any]:
    if "agent_id" in body:
        account = await _agent(ctx, body["agent_id"])
        by = ("agent", body["agent_id"], account.get("name", ""))
    else:
        by = ("system", f"api:{ctx.key.id}", ctx.key.name)
    message_id = await ctx.services.store.resolve(ctx.site, conv_id, *by, ctx.now())
    return {"ok": True, "message_id": message_id}


async def reopen(ctx: Ctx, conv_id: str, body: dict[str, Any]) -> dict[str, Any]:
    await _agent(ctx, body["agent_id"])
    await _conversation(ctx, conv_id)
    message_id = await ctx.services.store.agent_reopen(
        ctx.site, conv_id, body["agent_id"], ctx.now()
    )
    return {"ok": True, "message_id": message_id}


# --- visitors ---------------------------------------------------------------------------
async def get_visitor(ctx: Ctx, visitor_id: str) -> dict[str, Any]:
    visitor = await ctx.services.store.load_visitor(ctx.site, visitor_id)
    if visitor is None:
        raise ApiError("not_found", "no such visitor")
    return await _visitor_detail(ctx, visitor_id, visitor)


async def _visitor_detail(ctx: Ctx, visitor_id: str, visitor: dict[str, str]) -> dict[str, Any]:
    """The visitor endpoints' visitor: the record, online or gone, this visit's pages."""
    (context,) = await ctx.services.store.visitor_context(ctx.site, [visitor_id], ctx.now())
    return {**visitor_summary(visitor_id, visitor), **context}


async def update_visitor(ctx: Ctx, visitor_id: str, body: dict[str, Any]) -> dict[str, Any]:
    store = ctx.services.store
    visitor = await store.load_visitor(ctx.site, visitor_id)
    if visitor is None:
        raise ApiError("not_found", "no such visitor")
    if "email" in body and body["email"] and not valid_email(body["email"]):
        raise ApiError("invalid_request", "that is not an e-mail address", "email")
    fields: dict[str, str] = {k: str(body[k]).strip() for k in ("name", "email") if k in body}
    for name, value in fields.items():
        # The same rule as the visitor socket's: what agents read is never a control sequence.
        problem = text_problem(value)
        if problem is not None:
            raise ApiError("invalid_request", f"{name} {problem}", name)
    if fields:
        conv_id = await store.update_visitor(ctx.site, visitor_id, fields, ctx.now())
        visitor.update(fields)
        if conv_id:
            await store.publish(ctx.site, VisitorChanged(conv_id, visitor_id))
    return await _visitor_detail(ctx, visitor_id, visitor)


async def visitor_conversations(ctx: Ctx, visitor_id: str) -> dict[str, Any]:
    store = ctx.services.store
    visitor = await store.load_visitor(ctx.site, visitor_id)
    if visitor is None:
        raise ApiError("not_found", "no such visitor")
    convs = await store.visitor_conversations(ctx.site, visitor_id)
    labels = await store.labels(ctx.site)
    return {"items": [_summary(c, visitor, labels) for c in convs], "next_cursor": None}


# --- the team ---------------------------------------------------------------------------
async def _agents(ctx: Ctx) -> list[dict[str, Any]]:
    agents = await team_members(ctx.services.store, ctx.site)
    return sorted(agents, key=lambda a: str(a["name"]).casefold())


async def list_agents(ctx: Ctx) -> dict[str, Any]:
    return {"items": await _agents(ctx), "next_cursor": None}


async def get_agent(ctx: Ctx, agent_id: str) -> dict[str, Any]:
    for agent in await _agents(ctx):
        if agent["id"] == agent_id:
            return agent
    raise ApiError("not_found", "no such agent on this site")


async def list_departments(ctx: Ctx) -> dict[str, Any]:
    store = ctx.services.store
    names = site_departments(await store.get_site(ctx.site), await store.departments(ctx.site))
    return {"items": names}


async def list_canned(ctx: Ctx) -> dict[str, Any]:
    store = ctx.services.store
    items = await store.canned_responses(ctx.site)
    return {"items": canned_items(items, await store.canned_files(ctx.site))}


async def audit_log(
    ctx: Ctx,
    before: str | None = None,
    limit: int = 100,
    action: str | None = None,
    actor: str | None = None,
    q: str | None = None,
    since: int | None = None,
    until: int | None = None,
) -> dict[str, Any]:
    if before is not None and not STREAM_ID.match(before):
        raise ApiError("invalid_request", "before is not one this API returned", "before")
    query = AuditQuery(
        action=action or "", actor=actor or "", text=q or "", since=since or 0, until=until or 0
    )
    page, cursor = await ctx.services.store.audit_search(ctx.site, query, before, limit)
    return {
        "items": [
            {
                "id": e.id,
                "ts": e.ts,
                "actor": {"id": e.actor_id, "name": e.actor_name},
                "action": e.action,
                "conversation_id": e.conv_id,
                "detail": e.detail,
            }
            for e in page
        ],
        "next_cursor": cursor,
    }
