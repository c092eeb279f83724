"""Conversation search on a real Redis: Persian typed on an Arabic keyboard and Persian digits
found by Persian letters and ASCII digits, the agents' permissions, erasure, and messages
stored while no indexer ran (a node killed before indexing) indexed by the next one."""

from __future__ import annotations

from typing import Any

from chatserver.core.search import parse_query
from chatserver.embedded_redis import EmbeddedRedis
from chatserver.messages import Outgoing
from chatserver.privacy import Person, erase_person
from chatserver.search import SearchIndexer, search
from chatserver.store import Store
from chatserver.store.search import Filters, Viewer

T0 = 1_767_225_600_000
SITE = "demo"


async def chat(
    store: Store, visitor: str, name: str, texts: list[str], at: int, department: str = ""
) -> str:
    _, conv = await store.open_conversation(
        SITE, visitor, at, department=department, visitor_name=name
    )
    for i, text in enumerate(texts):
        await store.send_message(
            Outgoing(SITE, conv, "visitor", visitor, name, f"{conv}-{i}", text, at + i)
        )
    return conv


async def ids(store: Store, q: str, viewer: Viewer | None = None, **filters: Any) -> list[str]:
    page = await search(store, SITE, q, Filters(**filters), viewer or Viewer())
    return [item["id"] for item in page.items]


async def test_arabic_keyboard_and_persian_digits(redis_server: EmbeddedRedis) -> None:
    store = Store.from_url(redis_server.url)
    try:
        await store.update_site(SITE, {"name": "Demo"})
        # Typed on an Arabic layout: ي and ك for ی and ک; the order number in Persian digits.
        first = await chat(
            store, "v_1", "مريم", ["سلام، يك مشكل با سفارش ۱۲۳۴۵ دارم", "كجاست؟"], T0
        )
        second = await chat(store, "v_2", "Omid", ["Where is my order 555?"], T0 + 1000)
        third = await chat(store, "v_3", "سارا", ["مشکل دیگری دارم"], T0 + 2000)
        # Stored with no indexer running (a node killed before indexing): nothing is indexed
        # yet, but nothing is lost either: the to-index set is in Redis.
        assert await store.search_backlog(SITE) == 3
        assert not await store.r.exists(store.k.search_postings(SITE, "مشکل"))
        # A node that starts later (another store, another node id) indexes the backlog.
        other = Store.from_url(redis_server.url)
        try:
            assert await SearchIndexer(other, "n_2", lambda: T0 + 5000).tick() == 4
        finally:
            await other.close()
        assert await store.search_backlog(SITE) == 0

        assert await ids(store, "مشکل") == [third, first]  # newest first
        assert await ids(store, "یک مشکل") == [first]  # AND-ed
        assert await ids(store, "12345") == [first]
        assert await ids(store, "١٢٣٤٥") == [first]  # Arabic-Indic digits too
        assert await ids(store, "مریم") == [first]  # the visitor's name
        assert await ids(store, "کجا") == [first]  # the last word is a prefix
        assert await ids(store, "کجا ") == []  # ... unless it is finished
        assert await ids(store, "ORDER 55") == [second]
        assert await ids(store, "مشکل", start=T0 + 1500) == [third]  # the date range
        assert await ids(store, "مشکل", end=T0 + 1500) == [first]
        assert await ids(store, "یک مشکل", end=T0 + 1500) == [first]  # AND-ed, in a range
        assert await ids(store, "یک مش", start=T0, end=T0 + 1500) == [first]

        page = await search(store, SITE, "12345", Filters(), Viewer())
        snip = page.items[0]["snippet"]
        assert snip["parts"][1] == "۱۲۳۴۵" and snip["from"] == "visitor"
        assert "".join(snip["parts"]) == "سلام، يك مشكل با سفارش ۱۲۳۴۵ دارم"
        assert page.items[0]["visitor_name"] == "مريم"

        # A new message is indexed by the next turn, after the cursor only.
        await store.send_message(
            Outgoing(SITE, second, "visitor", "v_2", "Omid", "x", "refund", T0)
        )
        indexer = SearchIndexer(store, "n_1", lambda: T0 + 6000)
        await store.r.delete(store.k.search_lease(SITE))
        assert await indexer.tick() == 1
        assert await ids(store, "refund") == [second]
    finally:
        await store.close()


async def test_the_lease_lets_one_node_index(redis_server: EmbeddedRedis) -> None:
    store = Store.from_url(redis_server.url)
    try:
        await store.update_site(SITE, {"name": "Demo"})
        await chat(store, "v_1", "A", ["hello there"], T0)
        assert await SearchIndexer(store, "n_1", lambda: T0).tick() == 1
        await chat(store, "v_2", "B", ["hello again"], T0 + 1)
        assert await SearchIndexer(store, "n_2", lambda: T0).tick() == 0  # n_1 holds it
        assert await store.search_backlog(SITE) == 1
        # A query indexes what waits before it reads: it finds what was just written.
        assert len(await ids(store, "hello")) == 2
        assert await store.search_backlog(SITE) == 0
    finally:
        await store.close()


async def test_agents_see_their_chats_and_departments(redis_server: EmbeddedRedis) -> None:
    store = Store.from_url(redis_server.url)
    try:
        await store.update_site(SITE, {"name": "Demo"})
        for agent, depts in (("a_sara", ["sales"]), ("a_omid", ["support"])):
            await store.set_agent_status(SITE, agent, agent, 5, "online", 60, depts, now=T0)
        sales = await chat(store, "v_1", "A", ["invoice please"], T0, "sales")
        support = await chat(store, "v_2", "B", ["invoice wrong"], T0 + 10, "support")
        helped = await chat(store, "v_3", "C", ["invoice missing"], T0 + 20, "support")
        anyone = await chat(store, "v_4", "D", ["invoice again"], T0 + 30)
        assert await store.claim(SITE, helped, ["a_sara"], T0 + 40) == "a_sara"
        await store.send_message(
            Outgoing(SITE, helped, "agent", "a_sara", "Sara", "r1", "sent it", T0 + 50)
        )
        await store.add_note(
            Outgoing(SITE, helped, "note", "a_sara", "Sara", "n1", "VIP customer", T0 + 60)
        )
        await SearchIndexer(store, "n_1", lambda: T0).tick()
        everyone = [anyone, helped, support, sales]
        assert await ids(store, "vip") == [helped]  # notes are searched (agents only search)
        assert await ids(store, "invoice") == everyone  # a supervisor's view
        sara = Viewer("a_sara", ("sales",))
        assert await ids(store, "invoice", sara) == [anyone, helped, sales]
        omid = Viewer("a_omid", ("support",))
        assert await ids(store, "invoice", omid) == [anyone, helped, support]
        # Filters: the agent who handled it, the status.
        assert await ids(store, "invoice", agent="a_sara") == [helped]
        assert await ids(store, "", agent="a_sara") == [helped]
        assert await ids(store, "invoice", status="queued") == [anyone, support, sales]
        assert await ids(store, "sent") == [helped]  # the agent's words too
    finally:
        await store.close()


async def test_an_erased_conversation_is_not_found(redis_server: EmbeddedRedis) -> None:
    store = Store.from_url(redis_server.url)
    try:
        await store.update_site(SITE, {"name": "Demo"})
        await store.visitor_seen(SITE, "v_1", {"id": "v_1", "email": "ali@example.com"}, 0)
        gone = await chat(store, "v_1", "علی", ["رمز من ۹۸۷۶ است"], T0)
        kept = await chat(store, "v_2", "Sara", ["رمز چیست"], T0 + 1)
        await SearchIndexer(store, "n_1", lambda: T0).tick()
        assert await ids(store, "9876") == [gone]
        assert await ids(store, "ali@example.com") == [gone]
        await erase_person(store, SITE, Person(visitor_id="v_1"), ("a_1", "Admin"), T0 + 5000)
        for q in ("9876", "علی", "ali", "رمز"):
            assert gone not in await ids(store, q), q
        assert await ids(store, "رمز") == [kept]
        assert not await store.r.exists(store.k.search_doc(SITE, gone))
        assert not await store.r.exists(store.k.search_postings(SITE, "9876"))
        # A later turn does not bring it back.
        await store.r.delete(store.k.search_lease(SITE))
        await SearchIndexer(store, "n_1", lambda: T0).tick()
        assert await ids(store, "9876") == []
    finally:
        await store.close()


async def test_conversations_from_before_the_index_are_backfilled(
    redis_server: EmbeddedRedis,
) -> None:
    store = Store.from_url(redis_server.url)
    try:
        await store.update_site(SITE, {"name": "Demo"})
        convs = [await chat(store, f"v_{i}", "X", [f"old message {i}"], T0 + i) for i in range(5)]
        await store.r.delete(store.k.search_todo(SITE))  # as if stored by an older version
        assert await ids(store, "old") == []
        await SearchIndexer(store, "n_1", lambda: T0 + 10).tick()
        assert await ids(store, "old") == convs[::-1]
        assert await store.r.hget(store.k.search_state(SITE), "backfilled") == "1"
    finally:
        await store.close()


async def test_pages_go_on_from_their_cursor(redis_server: EmbeddedRedis) -> None:
    store = Store.from_url(redis_server.url)
    try:
        await store.update_site(SITE, {"name": "Demo"})
        # Pairs created in the same millisecond: the cursor must step through ties.
        convs = [
            await chat(store, f"v_{i}", "X", [f"orders order {i}", "ordering"], T0 + i // 2)
            for i in range(25)
        ]
        await SearchIndexer(store, "n_1", lambda: T0).tick()
        for q in ("order", "ord", "orders order"):
            first = await search(store, SITE, q, Filters(), Viewer(), limit=20)
            assert first.next is not None
            rest = await search(store, SITE, q, Filters(), Viewer(), before=first.next, limit=20)
            got = [i["id"] for i in first.items + rest.items]
            assert len(got) == len(set(got)) == 25, q  # each once, across its expansions
            created = [i["created_at"] for i in first.items + rest.items]
            assert created == sorted(created, reverse=True)
            assert set(got) == set(convs) and rest.next is None
    finally:
        await store.close()


async def test_retention_takes_a_conversation_out_of_the_index(
    redis_server: EmbeddedRedis,
) -> None:
    store = Store.from_url(redis_server.url)
    try:
        await store.update_site(SITE, {"name": "Demo"})
        old = await chat(store, "v_1", "Old", ["archived gizmo"], T0)
        new = await chat(store, "v_2", "New", ["fresh gizmo"], T0 + 1)
        await store.resolve(SITE, old, "visitor", "v_1", "Old", T0 + 60_000)
        await SearchIndexer(store, "n_1", lambda: T0).tick()
        assert await ids(store, "gizmo") == [new, old]
        outcome, _ = await store.delete_ended(SITE, old, T0 + 120_000, T0 + 120_000, 1000)
        assert outcome == "deleted"
        assert await ids(store, "gizmo") == [new]
        assert not await store.r.exists(store.k.search_postings(SITE, "archived"))
        assert await store.r.zscore(store.k.search_vocab(SITE), "archived") is None
        assert not await store.r.exists(store.k.search_doc(SITE, old))
    finally:
        await store.close()


async def test_a_rare_intersection_pages_on_from_where_it_stopped(
    redis_server: EmbeddedRedis,
) -> None:
    store = Store.from_url(redis_server.url)
    try:
        await store.update_site(SITE, {"name": "Demo"})
        both = await chat(store, "v_0", "X", ["alpha beta"], T0)
        for i in range(1, 25):
            await chat(store, f"v_{i}", "X", ["alpha" if i % 2 else "beta"], T0 + i)
        await SearchIndexer(store, "n_1", lambda: T0).tick()
        query, found, before, pages = parse_query("alpha beta "), [], None, 0
        while True:  # at most 2 candidates (8 entries read) a call: several short pages
            hits = await store.search_hits(SITE, query, Filters(), Viewer(), before, 20, scan=2)
            found += hits.ids
            pages += 1
            if hits.next is None:
                break
            before = hits.next
        assert found == [both] and pages > 1
    finally:
        await store.close()
