"""The SLA clocks of a site: its policy's response targets, counted in business time.

A first- or next-response target is business time (the office hours of the conversation's
department, else the site's, see :mod:`chatserver.core.business_clock` and
:mod:`chatserver.core.department_hours`): the clock pauses while they are closed. What the
scripts take stays a delay in wall milliseconds, so the deadline is worked out here, when the
clock starts, and judged again here when its timer comes due. Pure, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields

from chatserver.core.business_clock import ALWAYS_OPEN, BusinessClock
from chatserver.core.department_hours import SITE_ONLY, DepartmentClocks
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

    business: BusinessClock = ALWAYS_OPEN  # the site's (office_hours)
    clocks: DepartmentClocks = SITE_ONLY  # with each department's own (department_hours)

    @classmethod
    def from_settings(cls, settings: Mapping[str, str] | None) -> SlaPolicy:
        """The policy and the office hours (``office_hours``, ``department_hours``) of a
        site's settings."""
        base = SitePolicy.from_settings(settings)
        clocks = DepartmentClocks.from_settings(settings)
        values = {f.name: getattr(base, f.name) for f in fields(SitePolicy)}
        return cls(**values, business=clocks.site, clocks=clocks)


def business_clock(policy: SitePolicy) -> BusinessClock:
    """The site's clock; a plain SitePolicy has no office hours."""
    return policy.business if isinstance(policy, SlaPolicy) else ALWAYS_OPEN


def department_clocks(policy: SitePolicy) -> DepartmentClocks:
    """Every clock ``policy``'s SLA targets run on, by department."""
    return policy.clocks if isinstance(policy, SlaPolicy) else SITE_ONLY


def _due(policy: SitePolicy, start_ms: int, duration_ms: int, department: str | None) -> int | None:
    clocks = department_clocks(policy)
    if department is None:
        return clocks.earliest_deadline(start_ms, duration_ms)
    return clocks.clock(department).deadline(start_ms, duration_ms)


def risk_ms(policy: SitePolicy, name: str) -> int:
    """The business time after which the target ``name`` is at risk (0: the target is off);
    the dashboard's rule (chatserver.core.now_figures.AT_RISK)."""
    return math.ceil(policy.ms(name) * AT_RISK)


def alarm_delay_ms(
    policy: SitePolicy, name: str, start_ms: int, department: str | None = None
) -> int:
    """When, after ``start_ms``, the timer of target ``name`` first fires, in wall ms: at the
    risk point (it escalates, then waits on for the deadline). 0: no timer.

    ``department`` None (not known where the message is stored): the earliest risk point of
    all the site's clocks, so that the timer is never late; fired early, it is judged under
    the conversation's own clock and waits on (:func:`sla_progress`'s ``wake``).
    """
    risk = risk_ms(policy, name)
    if risk <= 0:
        return 0
    due = _due(policy, start_ms, risk, department)
    return 0 if due is None else max(1, due - start_ms)


def sla_delay_ms(policy: SitePolicy, name: str, start_ms: int, department: str | None = "") -> int:
    """How long after ``start_ms`` the target ``name`` falls due, in wall ms, as the scripts
    take a delay: 0 (no timer) when the target is off or the hours never open for it.
    ``department``: as for :func:`alarm_delay_ms` ('' the site's)."""
    target = policy.ms(name)
    if target <= 0:
        return 0
    due = _due(policy, start_ms, target, department)
    return 0 if due is None else due - start_ms


@dataclass(frozen=True, slots=True)
class SlaProgress:
    """Where a running SLA clock stands at one instant."""

    worked_ms: int  # business time since the clock started
    due: int | None  # when it reaches the target (Unix ms); None: never, with these hours
    # When its timer should fire next: the risk point while short of it, else ``due``.
    wake: int | None = None


def sla_progress(
    policy: SitePolicy,
    kind: str,
    since_ms: int,
    now: int,
    department: str = "",
    changes: str | None = None,
) -> SlaProgress:
    """The clock of timer ``kind`` (``frt``, ``nrt``) started at ``since_ms``, at ``now``, of
    a conversation in ``department`` with the transfers ``changes`` (its
    ``department_changes``): each stretch counts the hours of the department it was in."""
    clocks = department_clocks(policy)
    worked = clocks.elapsed(department, changes, since_ms, now)
    due = clocks.deadline(department, changes, since_ms, policy.ms(TARGETS[kind]))
    risk = risk_ms(policy, TARGETS[kind])
    wake = due
    if risk > 0 and worked < risk:
        wake = clocks.deadline(department, changes, since_ms, risk)
    return SlaProgress(worked, due, wake)
