"""Load generator and benchmark scenarios (see docs/performance.md)."""

from __future__ import annotations
