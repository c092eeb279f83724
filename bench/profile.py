"""A flame graph of one server process under the steady scenario.

`python -m bench.profile` runs `python -m bench steady` in a child process and, once its
servers are warm, samples one of them with py-spy for a while. The SVG goes to
docs/img/flame-steady.svg (or --out); py-spy must be installed (the `bench` extra).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def server_pids(parent: int) -> list[int]:
    """The `chatserver serve` processes started by ``parent`` (read from /proc)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and "chatserver serve" in cmdline:
            found.append(int(proc.name))
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    p.add_argument("--rate", type=float, default=4000.0, help="steady: target msg/s")
    p.add_argument("--seconds", type=int, default=15, help="how long to sample")
    p.add_argument("--delay", type=float, default=8.0, help="seconds before sampling starts")
    p.add_argument("--visitors", type=int, default=200, help="steady: visitors")
    p.add_argument("--agents", type=int, default=20, help="steady: agents")
    p.add_argument(
        "--format",
        choices=("flamegraph", "raw"),
        default="flamegraph",
        help="py-spy's output: an SVG, or collapsed stacks (one line a stack) to aggregate",
    )
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "flame-steady.svg")
    args = p.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        sys.stderr.write("py-spy is not installed: pip install -e '.[bench]'\n")
        return 2
    duration = args.seconds + args.delay + 7
    bench = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench",
            "steady",
            "--rate",
            str(args.rate),
            "--duration",
            str(duration),
            "--visitors",
            str(args.visitors),
            "--agents",
            str(args.agents),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        pids: list[int] = []
        deadline = time.monotonic() + 60
        while len(pids) < 1 and time.monotonic() < deadline:
            time.sleep(0.5)
            pids = server_pids(bench.pid)
        if not pids:
            sys.stderr.write("the steady scenario started no server\n")
            return 1
        time.sleep(args.delay)  # connections, warm-up, the pacer at full rate
        args.out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                spy,
                "record",
                "--pid",
                str(pids[0]),
                "--duration",
                str(args.seconds),
                "--rate",
                "250",
                "--nonblocking",
                "--format",
                args.format,
                "--output",
                str(args.out),
            ],
            check=True,
        )
        out, _ = bench.communicate(timeout=duration + 120)
        sys.stdout.write(out)
        sys.stdout.write(f"flame graph: {args.out}\n")
        return bench.returncode
    finally:
        if bench.poll() is None:
            bench.terminate()


if __name__ == "__main__":
    raise SystemExit(main())
