"""Conversation search over 100,000 conversations: how long indexing takes, what the index
costs in memory per message, and how long queries take (issue 20).

    python -m bench.search [--conversations 100000] [--messages 4] [--runs 30]

Starts its own redis-server (append-only off: this measures memory and reads), writes one site
of conversations as the scripts leave them (a hash each, the conversation index, a stream of
messages each, the to-index set), pipelined; generated Persian and English text, a quarter of
it typed on an Arabic keyboard (ي, ك), order numbers in Persian digits. Then the real indexer
(chatserver.search.SearchIndexer) indexes the backlog, and the real query
(chatserver.search.search: the page of 20 with its snippets) runs a set of queries, with and
without filters, as a supervisor and as an agent of one department.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import redis

from chatserver.embedded_redis import EmbeddedRedis
from chatserver.keys import Keys
from chatserver.search import SearchIndexer, search
from chatserver.store import Store
from chatserver.store.search import Filters, Viewer

SITE = "big"
T0 = 1_800_000_000_000
DAY = 86_400_000
SPAN_DAYS = 90
DEPARTMENTS = ("", "sales", "billing", "support")
AGENTS = [f"a_{j:03d}" for j in range(40)]
FIRST = ["علی", "مریم", "رضا", "سارا", "محمد", "زهرا", "حسین", "فاطمه", "Omid", "Lena", "John"]
LAST = ["رضایی", "محمدی", "احمدی", "کریمی", "حسینی", "Smith", "Novak", "جعفری", "موسوی"]
# A Zipf-like vocabulary: the first words are in most conversations, the last in few.
_VOCABULARY = (
    "سلام ممنون سفارش من کجاست لطفا پیگیری کنید مشکل دارم پرداخت ارسال کد تخفیف بازگشت "
    "وجه کالا خراب رسید فاکتور حساب کاربری رمز عبور ورود ثبت نام آدرس تغییر تحویل امروز فردا "
    "hello thanks order where is my refund payment failed card shipping delay account password "
    "reset login invoice address change delivery today tomorrow coupon broken item return "
    "گارانتی تعویض سایز رنگ موجودی قیمت پشتیبانی تماس تلفن ایمیل پیامک اشتراک تمدید لغو "
    "subscription cancel renew warranty exchange size color stock price support phone email"
)
WORDS = _VOCABULARY.split()
WEIGHTS = [1 / (i + 1) for i in range(len(WORDS))]
ARABIC = str.maketrans({"ی": "ي", "ک": "ك"})
PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
QUERIES = [
    "سفارش",
    "مشکل پرداخت",
    "refund card",
    "پیگیري",  # Arabic yeh
    "كد تخفيف",  # Arabic kaf and yeh
    "order 4",  # one common word, one short one
    "گارا",  # a prefix
    "subscr",
    "علی رضایی",
    "Smith",
    "warranty exchange size",
]


def text(rng: random.Random) -> str:
    words = rng.choices(WORDS, WEIGHTS, k=rng.randint(4, 12))
    if rng.random() < 0.3:
        words.append(str(rng.randint(10_000, 99_999)).translate(PERSIAN_DIGITS))
    line = " ".join(words)
    return line.translate(ARABIC) if rng.random() < 0.25 else line


def _tail(rng: random.Random) -> str:
    return "".join(
        rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", k=10)
    )


def fill(url: str, n: int, each: int, seed: int = 7) -> int:
    """Write ``n`` conversations of ``each`` messages; returns the messages written."""
    rng = random.Random(seed)
    k = Keys()
    r = redis.Redis.from_url(url, decode_responses=True)
    written = 0
    try:
        r.hset(k.site(SITE), mapping={"name": SITE})
        r.sadd(k.sites(), SITE)
        r.incr(k.sites_version())
        # Every conversation is from this version: the backfill has nothing to do.
        r.hset(k.search_state(SITE), mapping={"backfilled": "1"})
        for start in range(0, n, 2000):
            pipe = r.pipeline(transaction=False)
            for i in range(start, min(n, start + 2000)):
                # Ids as the server makes them (chatserver.store.base.new_id: 16 characters):
                # every posting repeats one, so their length is part of the memory measured.
                cid, vid = f"c_{i:06d}{_tail(rng)}", f"v_{i:06d}{_tail(rng)}"
                created = T0 + i * (SPAN_DAYS * DAY // n)
                agent = AGENTS[i % len(AGENTS)]
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                conv = {
                    "id": cid,
                    "site": SITE,
                    "visitor": vid,
                    "visitor_name": name,
                    "agent": agent,
                    "agent_name": f"Agent {agent}",
                    "department": DEPARTMENTS[i % len(DEPARTMENTS)],
                    "status": "resolved" if i % 10 else "waiting_on_agent",
                    "created_at": created,
                    "rating": str(1 + i % 5),
                }
                pipe.hset(k.conversation(SITE, cid), mapping=conv)
                pipe.zadd(k.conversation_index(SITE), {cid: created})
                for m in range(each):
                    kind, sender = ("visitor", vid) if m % 2 == 0 else ("agent", agent)
                    pipe.xadd(
                        k.messages(SITE, cid),
                        {
                            "k": kind,
                            "s": sender,
                            "n": "",
                            "c": f"m{m}",
                            "t": text(rng),
                            "ts": created + m * 1000,
                        },
                    )
                    written += 1
                pipe.zadd(k.search_todo(SITE), {cid: created + each * 1000})
            pipe.execute()
    finally:
        r.close()
    return written


def used_memory(url: str) -> int:
    r = redis.Redis.from_url(url)
    try:
        used: int = r.info("memory")["used_memory"]
        return used
    finally:
        r.close()


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def index_all(url: str) -> tuple[float, int]:
    store = Store.from_url(url)
    try:
        indexer = SearchIndexer(store, "n_bench", lambda: T0)
        began = time.perf_counter()
        read = 0
        while await store.search_backlog(SITE):
            read += await indexer.run_site(SITE)
        return time.perf_counter() - began, read
    finally:
        await store.close()


async def queries(url: str, runs: int) -> dict[str, list[float]]:
    store = Store.from_url(url)
    end = T0 + SPAN_DAYS * DAY
    cases: dict[str, tuple[Filters, Viewer]] = {
        "no filter (supervisor)": (Filters(), Viewer()),
        "status=resolved": (Filters(status="resolved"), Viewer()),
        "last 7 days": (Filters(start=end - 7 * DAY, end=end), Viewer()),
        "agent filter": (Filters(agent=AGENTS[3]), Viewer()),
        "rating=5 + 30 days": (Filters(rating="5", start=end - 30 * DAY, end=end), Viewer()),
        "an agent's view (one department)": (Filters(), Viewer(AGENTS[5], ("sales",))),
    }
    out: dict[str, list[float]] = {}
    try:
        for q in QUERIES:  # warm the scripts and the caches once
            await search(store, SITE, q, Filters(), Viewer())
        for label, (filters, viewer) in cases.items():
            times: list[float] = []
            found = 0
            for _ in range(runs):
                for q in QUERIES:
                    began = time.perf_counter()
                    page = await search(store, SITE, q, filters, viewer)
                    times.append((time.perf_counter() - began) * 1000)
                    found += len(page.items)
            out[label] = times
            say(
                f"  {label:<34} p50 {pct(times, 0.5):6.2f} ms  p99 {pct(times, 0.99):6.2f} ms"
                f"  ({len(times)} queries, {found / len(times):.1f} results a page)"
            )
        # Query by query, without filters: where the time goes.
        for q in QUERIES:
            times = []
            for _ in range(runs):
                began = time.perf_counter()
                await search(store, SITE, q, Filters(), Viewer())
                times.append((time.perf_counter() - began) * 1000)
            say(f"    {q!r:<28} p50 {statistics.median(times):6.2f} ms")
    finally:
        await store.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search")
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=4, help="messages per conversation")
    parser.add_argument("--runs", type=int, default=30, help="runs of the query set per case")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", appendonly=False)
        server.start()
        try:
            began = time.perf_counter()
            messages = fill(server.url, args.conversations, args.messages)
            say(
                f"filled {args.conversations} conversations, {messages} messages: "
                f"{time.perf_counter() - began:.1f} s"
            )
            before = used_memory(server.url)
            took, read = asyncio.run(index_all(server.url))
            after = used_memory(server.url)
            say(
                f"indexed {read} messages in {took:.1f} s "
                f"({read / took:,.0f} messages/s, {args.conversations / took:,.0f} conversations/s)"
            )
            r = redis.Redis.from_url(server.url, decode_responses=True)
            vocab = r.zcard(Keys().search_vocab(SITE))
            r.close()
            say(
                f"redis used_memory: {before / 1e6:.0f} MB before the index, "
                f"{after / 1e6:.0f} MB after; the index: {(after - before) / 1e6:.1f} MB, "
                f"{(after - before) / messages:.0f} bytes a message, "
                f"{(after - before) / args.conversations:.0f} bytes a conversation; "
                f"{vocab} distinct words"
            )
            say(f"queries (a page of 20 with its snippets), {args.runs} runs of {len(QUERIES)}:")
            asyncio.run(queries(server.url, args.runs))
        finally:
            server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
