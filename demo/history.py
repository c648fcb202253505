"""The demo tenant's 30 days of history, built behind the running product.

`make run` serves the pages as soon as the demo tenant and its people exist, then builds
the history in a background process (`manage.py build_demo_history`): the simulated agent
posts its actions through the API, people rate them, and the sweeps, calibration, rollups,
alerts and coaching run once. The pages show a banner with the step it is at, and a start
after an interrupted build finishes it (every step is idempotent).
"""

from __future__ import annotations

import contextlib
import time
from typing import Protocol

from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone
from django_tenants.utils import tenant_context
from redis.exceptions import RedisError

from demo.models import HistoryBuild
from learning.tenancy.cache import tenant_key
from learning.tenancy.models import Tenant
from outcomes import selectors as outcome_selectors

ONLY = 1  # one build per tenant: its row's key
# The pages' banner asks the database at most once a minute while a schema is QUIET (no
# build under way); recording a build marks it BUSY at once (demo/context_processors.py).
QUIET, BUSY = "quiet", "busy"


class Output(Protocol):
    """Where the build reports its steps: a command's stdout, or any text stream."""

    def write(self, text: str) -> object: ...
    def flush(self) -> object: ...


def steps(slug: str, api_url: str, key: str) -> list[tuple[str, tuple[str, ...]]]:
    """(what it is in plain words, the command that does it), in order."""
    api = ("--api-url", api_url, "--key", key)
    return [
        ("the agent's 1,500 actions, replies, signals and drafts", ("simulate_agent", *api)),
        ("signals deciding what worked", ("check_signals", "--tenant", slug, "--window", "all")),
        ("people rating what the agent did", ("simulate_reviewers", slug)),
        ("calibrating the agent's confidence", ("recalibrate", "--tenant", slug)),
        ("daily and weekly figures", ("refresh_rollups", "--tenant", slug)),
        ("alerts", ("evaluate_alerts", "--tenant", slug)),
        ("coaching patterns", ("extract_coaching_patterns", "--tenant", slug)),
        ("the weekly batch learning", ("run_batch_learning", "--tenant", slug)),
        ("an A/B test of a reply template", ("simulate_experiment", slug, *api)),
    ]


def needs_building() -> bool:
    """Whether the current tenant's history is still to be built, recording a build that
    is about to start (the pages show its banner from the first request on). A tenant
    with outcomes but no record holds a history built before builds were recorded."""
    build = HistoryBuild.objects.filter(pk=ONLY).first()
    if build is None:
        if outcome_selectors.has_outcomes():
            HistoryBuild.objects.create(pk=ONLY, finished_at=timezone.now())
            return False
        HistoryBuild.objects.create(pk=ONLY)
        _mark_busy()
        return True
    if build.finished_at is not None:
        return False
    HistoryBuild.objects.filter(pk=ONLY).update(steps_done=0, current="", failed="")
    _mark_busy()
    return True


def build(tenant: Tenant, *, api_url: str, key: str, out: Output) -> None:
    """Run every step, recording each one's start; a failure is recorded and raised."""
    plan = steps(tenant.slug, api_url, key)
    _record(tenant, steps_total=len(plan), started_at=timezone.now(), failed="", finished_at=None)
    for number, (words, command) in enumerate(plan, start=1):
        _record(tenant, steps_done=number - 1, current=words)
        out.write(f"==> demo history {number}/{len(plan)}: {words}\n")
        out.flush()
        began = time.monotonic()
        try:
            call_command(*command, stdout=out)
        except BaseException as exc:
            _record(tenant, failed=f"{words}: {exc}"[:2000] or words)
            raise
        out.write(f"    ({time.monotonic() - began:.0f} s)\n")
    _record(tenant, steps_done=len(plan), current="", finished_at=timezone.now())
    out.write("==> demo history: done; every page now shows the 30 days\n")
    out.flush()


def in_progress() -> HistoryBuild | None:
    """The current tenant's unfinished build, if any (for the pages' banner)."""
    return HistoryBuild.objects.filter(finished_at__isnull=True).first()


def banner_key() -> str:
    """The current tenant's banner mark in the shared cache (QUIET or BUSY)."""
    return tenant_key("analytics", "demo-history-banner")


def _mark_busy() -> None:
    """A build is recorded: every worker's next page asks the database (a QUIET mark one
    of them set a moment ago, before the record, would hide the banner for a minute)."""
    with contextlib.suppress(RedisError):  # Redis down: pages ask the database anyway
        cache.set(banner_key(), BUSY, timeout=None)


def _record(tenant: Tenant, **fields: object) -> None:
    with tenant_context(tenant):
        HistoryBuild.objects.update_or_create(pk=ONLY, defaults=fields)
        if fields.get("finished_at") is None:
            _mark_busy()
        else:
            with contextlib.suppress(RedisError):
                cache.delete(banner_key())
