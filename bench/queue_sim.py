"""How good are the wait estimates? A queue simulated in compressed time, with the core's own
estimator fed only what the server knows at each moment.

6 agents x 2 slots, lognormal handle times (median 20 s), 160 visitors arriving in a calm,
a rush (arrivals at 1.7 times what the agents can serve) and a calm again; first come, first
served. For each visitor who had to wait, the first estimate (at arrival) is compared with the
wait it really had, beside two formulas computed from the same knowledge:
- naive: places past the free slots x mean handle time so far / slots
- Rocket.Chat: ((N - 1) / agents + 1) x mean handle time so far
- oracle: the median wait of 300 simulated futures drawn from the true handle-time
  distribution, given how long each chat in progress has run: what no estimator can beat
  by much, so the floor of the error this queue allows

    python -m bench.queue_sim [--seed N] [--runs N]

Pure Python, no server: the estimator is chatserver.core.estimate, the rest is the model.
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import NormalDist

from chatserver.core.estimate import HandleTimeEstimator, estimate_wait

AGENTS, SLOTS = 6, 2
MEDIAN_HANDLE, SIGMA = 20.0, 0.6
MEAN_HANDLE = MEDIAN_HANDLE * math.exp(SIGMA**2 / 2)
SERVICE_RATE = AGENTS * SLOTS / MEAN_HANDLE  # chats per second the team can end
PHASES = (("calm", 50, 0.6), ("rush", 60, 1.7), ("calm again", 50, 0.6))  # visitors, load


@dataclass
class Visitor:
    n: int
    phase: str
    arrived: float
    estimates: dict[str, float] = field(default_factory=dict)
    waited: float | None = None


Formula = Callable[[int, int, float], float]  # (position, free slots, mean handle) -> s


def naive(position: int, free: int, handle: float) -> float:
    return max(0, position - free) * handle / (AGENTS * SLOTS)


def rocket_chat(position: int, free: int, handle: float) -> float:
    return ((position - 1) / AGENTS + 1) * handle


def oracle(ages: list[float], ahead: int, rng: random.Random, samples: int = 300) -> float:
    """Median time until ``ahead`` more slots free, over simulated futures: each busy slot's
    remaining time drawn from the lognormal given its age, each freed slot taking a new chat
    (the visitors ahead) with a fresh handle time."""
    dist, mu = NormalDist(), math.log(MEDIAN_HANDLE)
    waits = []
    for _ in range(samples):
        heap = []
        for age in ages:
            p = dist.cdf((math.log(age) - mu) / SIGMA) if age > 0 else 0.0
            u = min(p + (1 - p) * rng.random(), 1 - 1e-12)
            heap.append(math.exp(mu + SIGMA * dist.inv_cdf(u)) - age)
        heapq.heapify(heap)
        t = 0.0
        for _ in range(ahead):
            t = heapq.heappop(heap)
            heapq.heappush(heap, t + rng.lognormvariate(mu, SIGMA))
        waits.append(t)
    return statistics.median(waits)


def simulate(seed: int) -> list[Visitor]:
    rng = random.Random(seed)
    futures = random.Random(seed + 10_000)  # the oracle's draws leave the run unchanged
    started: dict[float, float] = {}  # end time -> when that chat was assigned
    arrivals: list[tuple[float, str]] = []
    t = 0.0
    for phase, count, load in PHASES:
        for _ in range(count):
            t += rng.expovariate(SERVICE_RATE * load)
            arrivals.append((t, phase))
    visitors = [Visitor(i, phase, at) for i, (at, phase) in enumerate(arrivals)]
    ends: list[float] = []  # when each busy slot frees
    duration_of: dict[float, float] = {}  # end time -> that chat's handle time
    queue: list[Visitor] = []
    learned = HandleTimeEstimator()
    events = [(v.arrived, 1, v.n) for v in visitors]
    heapq.heapify(events)
    while events:
        now, kind, n = heapq.heappop(events)
        if kind == 0:  # a chat ended: its slot takes the head of the queue
            ends.remove(now)
            learned.add(duration_of[now])
        else:
            v = visitors[n]
            queue.append(v)
            free = AGENTS * SLOTS - len(ends)
            position = len(queue)
            ours = estimate_wait(position, free, AGENTS * SLOTS, AGENTS, learned.mean)
            known = learned.mean
            ahead = position - free
            v.estimates = {
                "chatserver": float(ours or 0),
                "naive": naive(position, free, known),
                "rocket.chat": rocket_chat(position, free, known),
                "oracle": oracle([now - started[e] for e in ends], ahead, futures)
                if ahead > 0
                else 0.0,
            }
        while queue and len(ends) < AGENTS * SLOTS:
            head = queue.pop(0)
            head.waited = now - head.arrived
            handle = rng.lognormvariate(math.log(MEDIAN_HANDLE), SIGMA)
            end = now + handle
            while end in duration_of:  # keep end times distinct keys
                end += 1e-9
            duration_of[end] = handle
            started[end] = now
            ends.append(end)
            heapq.heappush(events, (end, 0, -1))
    return visitors


FORMULAS = ("chatserver", "naive", "rocket.chat", "oracle")


def report(
    visitors: list[Visitor], formulas: tuple[str, ...] = FORMULAS
) -> dict[str, dict[str, dict[str, float]]]:
    """Per phase and formula: median and p90 absolute % error, mean bias (actual - estimate),
    over the visitors who waited at least a second."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for phase in ("all", *dict.fromkeys(p for p, _, _ in PHASES)):
        waited = [
            (v, v.waited)
            for v in visitors
            if (phase == "all" or v.phase == phase) and v.waited is not None and v.waited >= 1
        ]
        out[phase] = {}
        for name in formulas:
            pct = sorted(abs(v.estimates[name] - w) / w * 100 for v, w in waited)
            bias = [w - v.estimates[name] for v, w in waited]
            if not pct:
                continue
            out[phase][name] = {
                "visitors": len(pct),
                "median_pct": statistics.median(pct),
                "p90_pct": pct[max(0, math.ceil(0.9 * len(pct)) - 1)],
                "bias_s": statistics.fmean(bias),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=20, help="runs with seeds seed..seed+runs-1")
    args = parser.parse_args()
    merged: list[Visitor] = []
    for seed in range(args.seed, args.seed + args.runs):
        merged += simulate(seed)
    table = report(merged)
    lines = [
        f"queue simulation: {args.runs} runs x {len(merged) // args.runs} visitors, "
        f"{AGENTS} agents x {SLOTS} slots, lognormal handle (median {MEDIAN_HANDLE:.0f} s)",
        f"{'phase':<12} {'formula':<12} {'waited':>6} {'median %':>9} {'p90 %':>7} {'bias s':>7}",
    ]
    for phase, rows in table.items():
        for name, r in rows.items():
            lines.append(
                f"{phase:<12} {name:<12} {r['visitors']:>6.0f} {r['median_pct']:>9.1f} "
                f"{r['p90_pct']:>7.1f} {r['bias_s']:>7.1f}"
            )
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
