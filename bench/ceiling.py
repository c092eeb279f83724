"""The physical reference: how fast Redis alone runs the per-message script on this machine.

`python -m bench.ceiling` starts its own redis-server (the one the server embeds), loads the
real `send` script, prepares one conversation, and runs `redis-benchmark` with EVALSHA of that
script (a fresh client id each call, so every call stores a message), unpipelined and with
16 calls per round trip. Whatever chatserver reaches is bounded by these figures.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import redis

from chatserver.embedded_redis import EmbeddedRedis, free_port
from chatserver.messages import Outgoing
from chatserver.scripts import Script
from chatserver.store import Store

SITE, CONV, AGENT = "bench", "c_ceiling", "a_ceiling"


def prepare(url: str) -> list[str]:
    """Load the script and a conversation waiting on its agent; returns EVALSHA's arguments."""
    r = redis.Redis.from_url(url, decode_responses=True)
    store = Store(r)  # only its key and argument builder is used, synchronously
    script = Script("send")
    sha = r.script_load(script.source)
    r.hset(
        store.k.conversation(SITE, CONV),
        mapping={"id": CONV, "status": "waiting_on_visitor", "visitor": "v_1", "agent": AGENT},
    )
    keys, args = store.send_call(
        Outgoing(
            SITE,
            CONV,
            "agent",
            AGENT,
            "Agent",
            "cid-__rand_int__",  # redis-benchmark makes each call a new message
            "Hello, your order left the warehouse this morning.",
            1_800_000_000_000,
        )
    )
    r.close()
    return ["EVALSHA", sha, str(len(keys)), *keys, *(str(a) for a in args)]


def benchmark(port: int, command: list[str], pipeline: int, requests: int) -> float:
    out = subprocess.run(
        [
            "redis-benchmark",
            "-p",
            str(port),
            "-n",
            str(requests),
            "-c",
            "50",
            "-P",
            str(pipeline),
            "-r",
            "1000000000",
            "-q",
            *command,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if out.returncode != 0:
        raise RuntimeError(f"redis-benchmark failed: {out.stderr or out.stdout}")
    text = out.stdout
    found = re.findall(r"([\d.]+) requests per second", text)
    if not found:
        raise RuntimeError(f"unexpected redis-benchmark output: {text!r}")
    return float(found[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.ceiling", description=__doc__)
    p.add_argument("--requests", type=int, default=200_000)
    p.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = p.parse_args(argv)
    if shutil.which("redis-benchmark") is None:
        sys.stderr.write("redis-benchmark not found (Debian package redis-tools)\n")
        return 2
    with tempfile.TemporaryDirectory(prefix="chatceiling-") as tmp:
        server = EmbeddedRedis(Path(tmp), port=free_port())
        server.start()
        try:
            command = prepare(server.url)
            assert server.port is not None
            single = benchmark(server.port, command, 1, args.requests)
            piped = benchmark(server.port, command, 16, args.requests)
        finally:
            server.stop()
    figures = {
        "script": "send.lua (store one message and publish it)",
        "unpipelined_per_s": single,
        "pipelined_16_per_s": piped,
    }
    sys.stdout.write(
        f"Redis ceiling, send.lua via EVALSHA, 50 clients: {single:,.0f}/s unpipelined, "
        f"{piped:,.0f}/s with 16 per round trip\n"
    )
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
