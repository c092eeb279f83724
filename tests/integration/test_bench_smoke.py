"""The load generator's smoke run: real processes, a few seconds, no message lost or doubled.

Only counts are asserted; timings depend on the machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_steady_smoke(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "steady", "--smoke", "--out-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    files = sorted(tmp_path.glob("steady-*.json"))
    assert files, f"no result written (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    result = json.loads(files[-1].read_text())
    assert result["delivered"] > 0, proc.stdout
    assert result["lost"] == 0, result["lost_samples"]
    assert result["duplicated"] == 0, result["duplicate_samples"]
