"""The SLA clocks of a site: its policy's response targets, counted in business time.

A first- or next-response target is business time (the site's office hours, see
:mod:`chatserver.core.business_clock`): the clock pauses while the site is closed. What the
scripts take stays a delay in wall milliseconds, so the deadline is worked out here, when the
clock starts, and judged again here when its timer comes due. Pure, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields

from chatserver.core.business_clock import ALWAYS_OPEN, BusinessClock
from chatserver.core.hours import office_hours_or_none
from chatserver.core.now_figures import AT_RISK
from chatserver.core.policy import SitePolicy

# The timer kinds (chatserver.core.timers) that watch a response target, and its field.
TARGETS = {"frt": "sla_first_response_s", "nrt": "sla_next_response_s"}


@dataclass(frozen=True, slots=True)
class SlaPolicy(SitePolicy):
    """A site's policy together with the business clock its SLA targets run on.

    A subclass, not a field of :class:`SitePolicy`: that class's fields are the whole seconds
    the admin form edits, one input each.
    """

    business: BusinessClock = ALWAYS_OPEN

    @classmethod
    def from_settings(cls, settings: Mapping[str, str] | None) -> SlaPolicy:
        """The policy and the office hours (``office_hours``) of a site's settings."""
        base = SitePolicy.from_settings(settings)
        hours = office_hours_or_none((settings or {}).get("office_hours"))
        values = {f.name: getattr(base, f.name) for f in fields(SitePolicy)}
        return cls(**values, business=BusinessClock(hours))


def business_clock(policy: SitePolicy) -> BusinessClock:
    """The clock ``policy``'s SLA targets run on; a plain SitePolicy has no office hours."""
    return policy.business if isinstance(policy, SlaPolicy) else ALWAYS_OPEN


def risk_ms(policy: SitePolicy, name: str) -> int:
    """The business time after which the target ``name`` is at risk (0: the target is off);
    the dashboard's rule (chatserver.core.now_figures.AT_RISK)."""
    return math.ceil(policy.ms(name) * AT_RISK)


def alarm_delay_ms(policy: SitePolicy, name: str, start_ms: int) -> int:
    """When, after ``start_ms``, the timer of target ``name`` first fires, in wall ms: at the
    risk point (it escalates, then waits on for the deadline). 0: no timer."""
    risk = risk_ms(policy, name)
    if risk <= 0:
        return 0
    due = business_clock(policy).deadline(start_ms, risk)
    return 0 if due is None else max(1, due - start_ms)


def sla_delay_ms(policy: SitePolicy, name: str, start_ms: int) -> int:
    """How long after ``start_ms`` the target ``name`` falls due, in wall ms, as the scripts
    take a delay: 0 (no timer) when the target is off or the site never opens for it."""
    target = policy.ms(name)
    if target <= 0:
        return 0
    due = business_clock(policy).deadline(start_ms, target)
    return 0 if due is None else due - start_ms


@dataclass(frozen=True, slots=True)
class SlaProgress:
    """Where a running SLA clock stands at one instant."""

    worked_ms: int  # business time since the clock started
    due: int | None  # when it reaches the target (Unix ms); None: never, with these hours


def sla_progress(policy: SitePolicy, kind: str, since_ms: int, now: int) -> SlaProgress:
    """The clock of timer ``kind`` (``frt``, ``nrt``) started at ``since_ms``, at ``now``."""
    clock = business_clock(policy)
    return SlaProgress(
        clock.elapsed(since_ms, now), clock.deadline(since_ms, policy.ms(TARGETS[kind]))
    )
