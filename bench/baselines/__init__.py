"""Baselines the benchmark compares chatserver with (see docs/performance.md)."""

from __future__ import annotations
