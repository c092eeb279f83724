"""`python -m bench [steady|idle|burst|baseline|compare] [options]`: start a cluster, load it,
report.

The generator starts its own redis-server and chatserver processes on 127.0.0.1, runs one
scenario, prints a table, writes the full result to bench/results/<scenario>-<time>.json
and stops every child process, also on Ctrl-C, SIGTERM or error. Exit status: 0 when the
scenario's checks pass, 1 when they fail (e.g. a lost or duplicated message), 2 when the run
could not be carried out, 130 when interrupted.

``baseline`` runs the steady scenario against the python-socketio relay of
bench/baselines/ (needs the ``bench`` extra), ``node`` against the Node.js socket.io relay
(needs Node and ``npm ci --prefix bench/baselines/node_relay``, which ``make bench`` does);
``compare`` runs chatserver's steady scenario and then the python-socketio baseline with the
same parameters, and reports both and their ratio; its exit status follows chatserver's
checks (the baseline's losses are reported, not judged). ``sweep`` runs the three side by
side at rising rates and then idle sockets on each (bench/sweep.py); ``idle --against``
measures idle sockets on a baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import platform
import signal
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

from bench.burst import BurstConfig, render_burst, run_burst
from bench.cluster import BenchError, Cluster, raise_fd_limit
from bench.idle import IdleConfig, render_idle, run_idle
from bench.report import write_json
from bench.steady import SteadyConfig, render_steady, run_steady
from bench.tracker import GcWatch
from chatserver.log import configure_logging

SCENARIOS = ("steady", "idle", "burst", "baseline", "node", "compare", "sweep")
STEADY_LIKE = ("steady", "baseline", "node", "compare")
SYSTEMS = ("chatserver", "python-socketio", "node")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Load generator for chatserver: starts redis-server and chatserver "
        "processes on 127.0.0.1, drives real WebSocket clients, reports.",
    )
    p.add_argument("scenario", nargs="?", choices=SCENARIOS, help="default: steady")
    p.add_argument("--scenario", dest="scenario_opt", choices=SCENARIOS, help="same as above")
    p.add_argument(
        "--smoke", action="store_true", help="steady/baseline: a few seconds, small numbers"
    )
    p.add_argument("--servers", type=positive_int, help="server processes (steady/burst 2, idle 1)")
    p.add_argument("--visitors", type=positive_int, help="steady 200, idle 2000, burst 1000")
    p.add_argument("--agents", type=positive_int, help="steady 20, burst 50")
    p.add_argument("--capacity", type=positive_int, help="chats per agent (steady: enough for all)")
    p.add_argument("--rate", type=positive_float, help="steady: target msg/s, both sides (2000)")
    p.add_argument("--duration", type=positive_float, help="steady: measured seconds (20)")
    p.add_argument("--max-inflight", type=positive_int, help="steady: unacked per visitor (16)")
    p.add_argument("--drain", type=positive_float, help="steady: max wait for deliveries (10)")
    p.add_argument("--hold", type=positive_float, help="idle: seconds to stay connected (10)")
    p.add_argument("--arrival", type=positive_float, help="burst: arrival window in seconds (10)")
    p.add_argument("--settle", type=positive_float, help="burst: max wait for assignments (30)")
    p.add_argument(
        "--resolve-after", type=non_negative_float, help="burst: resolve chats after N s (0: never)"
    )
    p.add_argument("--msgpack", action="store_true", help="use the msgpack subprotocol")
    p.add_argument(
        "--durability",
        choices=("disk", "memory"),
        default="disk",
        help="what an ack waits for (default disk, as make run)",
    )
    p.add_argument(
        "--against",
        choices=SYSTEMS,
        default="chatserver",
        help="idle: the server to measure (default chatserver)",
    )
    p.add_argument(
        "--rates", help="sweep: target msg/s, comma-separated (2000,4000,8000,12000,16000)"
    )
    p.add_argument("--out-dir", type=Path, help="where the JSON goes (bench/results)")
    p.add_argument("--keep-data", action="store_true", help="keep the temp dir (logs, AOF)")
    return p


def _opts(args: argparse.Namespace, names: list[str]) -> dict[str, Any]:
    """The options the user gave (not None), by config field name."""
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


Scenario = Callable[[Cluster], Coroutine[Any, Any, dict[str, Any]]]
Render = Callable[[dict[str, Any]], str]
SMOKE = SteadyConfig(
    visitors=20, agents=4, rate=200.0, duration=3.0, warmup_timeout=30.0, smoke=True
)


def make_run(scenario: str, args: argparse.Namespace) -> tuple[Cluster, Scenario, Render, float]:
    """(the cluster to start, the scenario to run, its renderer, its time budget in seconds)."""
    if scenario in ("steady", "baseline", "node"):
        fields = ["visitors", "agents", "capacity", "rate", "duration", "max_inflight", "drain"]
        base = SMOKE if args.smoke else SteadyConfig()
        cfg = replace(base, **_opts(args, fields), msgpack=args.msgpack)
        budget = 120 + cfg.warmup_timeout + cfg.duration + cfg.drain + cfg.visitors * 0.05
        servers = args.servers or 2
        if scenario == "baseline":
            from bench.baselines.socketio_steady import RelayCluster, SocketIORig

            cluster: Cluster = RelayCluster(servers, keep_data=args.keep_data)
            return cluster, lambda c: run_steady(c, cfg, SocketIORig), render_steady, budget
        if scenario == "node":
            from bench.baselines.node_steady import NodeRelayCluster, NodeRig

            cluster = NodeRelayCluster(servers, keep_data=args.keep_data)
            return cluster, lambda c: run_steady(c, cfg, NodeRig), render_steady, budget
        cluster = Cluster(servers, keep_data=args.keep_data, durability=args.durability)
        return cluster, lambda c: run_steady(c, cfg), render_steady, budget
    if scenario == "idle":
        protocol = "chatserver" if args.against == "chatserver" else "socketio"
        cfg_i = IdleConfig(
            **_opts(args, ["visitors", "hold"]), msgpack=args.msgpack, protocol=protocol
        )
        budget = 120 + cfg_i.hold + cfg_i.visitors * 0.05
        cluster = relay_cluster(args.against, args.servers or 1, args.keep_data)
        return cluster, lambda c: run_idle(c, cfg_i), render_idle, budget
    fields = ["visitors", "agents", "capacity", "arrival", "settle", "resolve_after"]
    cfg_b = BurstConfig(**_opts(args, fields), msgpack=args.msgpack)
    budget = 120 + cfg_b.arrival + cfg_b.settle + cfg_b.agents * 0.5
    cluster = Cluster(args.servers or 2, keep_data=args.keep_data)
    return cluster, lambda c: run_burst(c, cfg_b), render_burst, budget


def relay_cluster(system: str, servers: int, keep_data: bool) -> Cluster:
    """The cluster of one of SYSTEMS (chatserver's in the durability mode of `make run`)."""
    if system == "python-socketio":
        from bench.baselines.socketio_steady import RelayCluster

        return RelayCluster(servers, keep_data=keep_data)
    if system == "node":
        from bench.baselines.node_steady import NodeRelayCluster

        return NodeRelayCluster(servers, keep_data=keep_data)
    return Cluster(servers, keep_data=keep_data)


def run_loop(coro: Coroutine[Any, Any, dict[str, Any]], budget: float) -> dict[str, Any]:
    """Run on uvloop when installed; the whole scenario is bounded by ``budget`` seconds."""
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:
        pass
    with asyncio.Runner(loop_factory=factory) as runner, GcWatch() as gc_watch:
        result: dict[str, Any] = runner.run(_guarded(coro, budget))
    result["event_loop"] = "uvloop" if factory else "asyncio"
    result["generator_gc"] = gc_watch.summary()
    return result


async def _guarded(coro: Coroutine[Any, Any, dict[str, Any]], budget: float) -> dict[str, Any]:
    """The scenario with a deadline; SIGTERM cancels it like Ctrl-C does (asyncio.Runner)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await asyncio.wait_for(coro, budget)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame: Any) -> NoReturn:
    """Outside the event loop (start-up, shutdown), SIGTERM unwinds like Ctrl-C."""
    raise KeyboardInterrupt


def execute(
    scenario: str, cluster: Cluster, factory: Scenario, budget: float, fd_limit: int
) -> dict[str, Any] | int:
    """Start the cluster, run the scenario, stop everything; the result, or an exit status
    when the run could not be carried out."""
    started = time.time()
    try:
        cluster.start()
        result = run_loop(factory(cluster), budget)
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.stderr.write("interrupted; stopping the cluster\n")
        return 130
    except (BenchError, TimeoutError, RuntimeError, OSError) as exc:
        sys.stderr.write(f"bench {scenario} failed: {exc!r}\n")
        for i, node in enumerate(cluster.nodes):
            tail = node.log_tail(1500)
            if tail:
                sys.stderr.write(f"--- server {i} log tail ---\n{tail}\n")
        return 2
    finally:
        cluster.stop()
        if cluster.keep_data:
            sys.stderr.write(f"data kept in {cluster.root}\n")
    result["started_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started))
    result["elapsed_s"] = round(time.time() - started, 1)
    result["host"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "fd_limit": fd_limit,
    }
    return result


def gc_line(result: dict[str, Any]) -> str:
    gcs = result["generator_gc"]
    return (
        f"event loop {result['event_loop']}; generator GC (off while "
        f"measuring): {gcs['collections']} collections ({gcs['full_collections']} full), "
        f"longest {gcs['max_ms']} ms"
    )


def compare(args: argparse.Namespace, fd_limit: int) -> int:
    """chatserver's steady run, then the baseline's with the same parameters, and the ratio."""
    from bench.baselines.compare import ratios, render_compare

    results: dict[str, dict[str, Any]] = {}
    for name, scenario in (("chatserver", "steady"), ("baseline", "baseline")):
        cluster, factory, render, budget = make_run(scenario, args)
        outcome = execute(scenario, cluster, factory, budget, fd_limit)
        if isinstance(outcome, int):
            return outcome
        results[name] = outcome
        sys.stdout.write(f"{render(outcome)}\n\n{gc_line(outcome)}\n\n")
        sys.stdout.flush()
    combined = {
        "scenario": "compare",
        **results,
        "ratio": ratios(results["chatserver"], results["baseline"]),
        "passed": bool(results["chatserver"].get("passed")),
    }
    path = write_json("compare", combined, args.out_dir)
    sys.stdout.write(f"{render_compare(combined)}\nresult JSON: {path}\n")
    return 0 if combined["passed"] else 1


def sweep(args: argparse.Namespace, fd_limit: int) -> int:
    """The three systems side by side at each rate, then idle sockets on each (bench/sweep.py).
    Exit status 0 when chatserver lost and duplicated nothing at every rate."""
    from bench.sweep import IDLE_VISITORS, LAYOUT, RATES, render_sweep, row_of

    rates = [positive_float(r) for r in args.rates.split(",")] if args.rates else list(RATES)
    runs: list[dict[str, Any]] = []
    for rate in rates:
        for system, scenario in zip(SYSTEMS, ("steady", "baseline", "node"), strict=True):
            run_args = argparse.Namespace(**{**vars(args), **LAYOUT, "rate": rate})
            run_args.duration = args.duration or LAYOUT["duration"]
            cluster, factory, _render, budget = make_run(scenario, run_args)
            outcome = execute(scenario, cluster, factory, budget, fd_limit)
            if isinstance(outcome, int):
                return outcome
            runs.append(row_of(system, rate, outcome))
            sys.stdout.write(f"{render_sweep(runs, [])}\n\n")
            sys.stdout.flush()
    idles: list[dict[str, Any]] = []
    for system in SYSTEMS:
        idle_args = argparse.Namespace(
            **{**vars(args), "visitors": args.visitors or IDLE_VISITORS, "against": system}
        )
        cluster, factory, _render, budget = make_run("idle", idle_args)
        outcome = execute("idle", cluster, factory, budget, fd_limit)
        if isinstance(outcome, int):
            return outcome
        idles.append({"system": system, **outcome})
    combined = {"scenario": "sweep", "runs": runs, "idle": idles}
    combined["passed"] = all(
        r["lost"] == 0 and r["duplicated"] == 0 for r in runs if r["system"] == "chatserver"
    )
    path = write_json("sweep", combined, args.out_dir)
    sys.stdout.write(f"{render_sweep(runs, idles)}\nresult JSON: {path}\n")
    return 0 if combined["passed"] else 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    scenario = args.scenario_opt or args.scenario or "steady"
    if args.smoke and scenario not in STEADY_LIKE:
        sys.stderr.write("--smoke applies to the steady, baseline and compare scenarios only\n")
        return 2
    configure_logging("warning")  # chatserver's own loggers (embedded redis): stderr only
    fd_limit = raise_fd_limit(max(4096, 2 * (args.visitors or 0) + 1024))
    signal.signal(signal.SIGTERM, _on_sigterm)
    needs_baseline = scenario in ("baseline", "compare", "sweep") or args.against != "chatserver"
    if needs_baseline and importlib.util.find_spec("socketio") is None:
        sys.stderr.write("the baseline needs the bench extra: pip install -e '.[bench]'\n")
        return 2
    if scenario == "compare":
        return compare(args, fd_limit)
    if scenario == "sweep":
        return sweep(args, fd_limit)
    cluster, factory, render, budget = make_run(scenario, args)
    result = execute(scenario, cluster, factory, budget, fd_limit)
    if isinstance(result, int):
        return result
    path = write_json(scenario, result, args.out_dir)
    sys.stdout.write(f"{render(result)}\n\n{gc_line(result)}\nresult JSON: {path}\n")
    return 0 if result.get("passed") else 1


if __name__ == "__main__":
    sys.exit(main())
