"""The queue simulation of bench.queue_sim against the real server, on one and on two nodes.

The same queue (6 agents x 2 slots, lognormal handle times with a median of 20 s, 160
visitors in a calm, a rush at 1.7 times what the agents can serve and a calm again), but
played in real time against `chatserver serve` processes on one Redis: agents are WebSocket
clients that resolve each chat after a drawn handle time, visitors connect when they arrive,
write one message and read the `queue` frames the server sends. For each visitor who waited,
the first estimate the server showed is compared with the wait it had (from its message to
`assigned`), beside the naive formula computed by this program from what it knew at the same
moment (the places past the free slots x the mean of the chats ended so far / slots).

It also counts what the queue promises besides the estimate: pairs of visitors taken out of
arrival order (by the server's own queued and assigned times), and `queue` frames that
reached a visitor after its `assigned`.

    python -m bench.queue_live [--servers 1 2] [--seed N] [--scale S]

``--scale`` shrinks every time (handle times and gaps between arrivals): 1 is the model's
own time, about seven minutes per topology; smaller is a quick smoke run, less exact since
the server's estimates are whole seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
from dataclasses import dataclass, field
from typing import Any

from bench import queue_sim as model
from bench.cluster import HOST, Cluster
from bench.loadgen import Agent, Node, Visitor, close_all, open_all, wait_until
from bench.tracker import Tracker, now
from chatserver.core.estimate import DEFAULT_HANDLE_SECONDS

CAPACITY = model.AGENTS * model.SLOTS


@dataclass(slots=True)
class Team:
    """What the program knows at each moment, as the naive formula may use it."""

    busy: int = 0
    handles: list[float] = field(default_factory=list)  # ended chats' handle times (s)

    @property
    def mean_handle(self) -> float:
        return statistics.fmean(self.handles) if self.handles else DEFAULT_HANDLE_SECONDS


class HandlingAgent(Agent):
    """Takes what routing gives it and resolves each chat after a lognormal handle time."""

    def __init__(
        self, index: int, tracker: Tracker, nodes: list[Node], token: str, run: LiveRun
    ) -> None:
        super().__init__(index, tracker, nodes, token)
        self.run = run

    def _on_assigned(self, f: dict[str, Any]) -> None:
        conv_id = f["conversation_id"]
        if conv_id in self.conversations:
            return
        self.conversations.add(conv_id)
        self.run.team.busy += 1
        handle = self.run.rng.lognormvariate(math.log(model.MEDIAN_HANDLE), model.SIGMA)
        handle *= self.run.scale
        asyncio.get_running_loop().call_later(handle, self._end, conv_id, handle)

    def _end(self, conv_id: str, handle: float) -> None:
        self.send_raw({"type": "resolve", "conversation_id": conv_id})
        self.run.team.busy -= 1
        self.run.team.handles.append(handle)


class WaitingVisitor(Visitor):
    """Writes once on arrival; keeps the first estimate it is shown and what the naive
    formula said at that moment."""

    def __init__(self, index: int, tracker: Tracker, nodes: list[Node], run: LiveRun) -> None:
        super().__init__(index, tracker, nodes)
        self.run = run
        self.first: dict[str, float] | None = None
        self.queue_after_assigned = 0

    def _on_queue(self, f: dict[str, Any]) -> None:
        super()._on_queue(f)
        if self.t_assigned is not None:
            self.queue_after_assigned += 1
        if self.first is not None or f.get("estimated_wait") is None:
            return
        position, team = int(f["position"]), self.run.team
        free, handle = CAPACITY - team.busy, team.mean_handle
        self.first = {
            "chatserver": float(f["estimated_wait"]),
            "naive": max(0, position - free) * handle / CAPACITY,
            "rocket.chat": ((position - 1) / model.AGENTS + 1) * handle,
        }

    def _on_resolved(self, f: dict[str, Any]) -> None:
        super()._on_resolved(f)
        self.close()


class LiveRun:
    def __init__(self, servers: int, seed: int, scale: float) -> None:
        self.servers = servers
        self.scale = scale
        self.rng = random.Random(seed)
        self.arrivals = random.Random(seed + 1)
        self.team = Team()
        self.tracker = Tracker()
        self.tracker.replies = False

    def schedule(self) -> list[tuple[float, str]]:
        """(seconds from the start, phase) of every visitor, as bench.queue_sim draws them."""
        out, t = [], 0.0
        for phase, count, load in model.PHASES:
            for _ in range(count):
                t += self.arrivals.expovariate(model.SERVICE_RATE * load)
                out.append((t * self.scale, phase))
        return out

    async def play(self) -> dict[str, Any]:
        cluster = Cluster(self.servers, durability="memory")
        cluster.start()
        try:
            return await self._play(cluster)
        finally:
            cluster.stop()

    async def _play(self, cluster: Cluster) -> dict[str, Any]:
        nodes = [(HOST, node.port) for node in cluster.nodes]
        tokens = await cluster.login_all(await cluster.create_agents(model.AGENTS, model.SLOTS))
        agents = [HandlingAgent(i, self.tracker, nodes, t, self) for i, t in enumerate(tokens)]
        failed = await open_all(agents)
        if failed:
            raise RuntimeError(f"agents could not connect: {failed[:3]}")
        visitors: list[tuple[WaitingVisitor, str]] = []
        start = now()
        for i, (at, phase) in enumerate(self.schedule()):
            delay = start + at - now()
            if delay > 0:
                await asyncio.sleep(delay)
            v = WaitingVisitor(i, self.tracker, nodes, self)
            visitors.append((v, phase))
            asyncio.get_running_loop().create_task(self._arrive(v))
        everyone = [v for v, _ in visitors]
        done = await wait_until(
            lambda: all(v.resolved for v in everyone), 600 * self.scale + 60, 0.2
        )
        convs = await cluster.conversations([v.conv_id or "" for v in everyone])
        await close_all([*everyone, *agents])
        return self._result(visitors, convs, done)

    async def _arrive(self, v: WaitingVisitor) -> None:
        await v.open()
        v.say("Hello, is anyone there?")

    def _result(
        self, visitors: list[tuple[WaitingVisitor, str]], convs: list[dict[str, str]], done: bool
    ) -> dict[str, Any]:
        rows: list[model.Visitor] = []
        for v, phase in visitors:
            if v.t_assigned is None or v.t_first_send is None:
                continue
            # In the model's seconds, so bench.queue_sim's report (and its 1 s floor) applies.
            row = model.Visitor(v.index, phase, v.t_first_send / self.scale)
            row.waited = (v.t_assigned - v.t_first_send) / self.scale
            row.estimates = {k: e / self.scale for k, e in (v.first or {}).items()}
            if v.first is None:  # assigned before any estimate was due: told "now"
                row.estimates = {"chatserver": 0.0, "naive": 0.0, "rocket.chat": 0.0}
            rows.append(row)
        timed = sorted(
            (int(c["queued_at"]), int(c["first_assigned_at"]))
            for c in convs
            if c.get("queued_at") and c.get("first_assigned_at")
        )
        inversions = sum(
            1
            for i, (_, a) in enumerate(timed)
            for _, b in timed[i + 1 :]
            if b < a  # queued later, taken earlier
        )
        return {
            "servers": self.servers,
            "visitors": len(visitors),
            "assigned": len(rows),
            "all_resolved": done,
            "order_pairs": len(timed) * (len(timed) - 1) // 2,
            "inversions": inversions,
            "queue_after_assigned": sum(v.queue_after_assigned for v, _ in visitors),
            "table": model.report(rows, ("chatserver", "naive", "rocket.chat")),
        }


def render(result: dict[str, Any]) -> str:
    lines = [
        f"{result['servers']} server(s): {result['assigned']}/{result['visitors']} visitors "
        f"assigned, all resolved: {result['all_resolved']}; out of arrival order: "
        f"{result['inversions']} of {result['order_pairs']} pairs; queue frames after "
        f"assigned: {result['queue_after_assigned']}",
        f"{'phase':<12} {'formula':<12} {'waited':>6} {'median %':>9} {'p90 %':>7} {'bias s':>7}",
    ]
    for phase, rows in result["table"].items():
        for name, r in rows.items():
            lines.append(
                f"{phase:<12} {name:<12} {r['visitors']:>6.0f} {r['median_pct']:>9.1f} "
                f"{r['p90_pct']:>7.1f} {r['bias_s']:>7.1f}"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    if not 0 < args.scale <= 1:
        parser.error("--scale must be in (0, 1]")
    for servers in args.servers:
        result = asyncio.run(LiveRun(servers, args.seed, args.scale).play())
        sys.stdout.write(render(result) + "\n\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
