"""Dashboards over a big tenant: OUTCOMES outcomes and FEEDBACK feedback entries (argv).

Fills the bench tenant (COPY; a tenant already holding exactly that many is reused, its
rollups brought up to date), refreshes the rollups, then times the rep's, the manager's
and the executive's views through the API (Django's full stack: middleware, auth, DRF),
uncached (the cache version bumped before every call) and cached, against the naive
aggregate over the raw rows that the rollups replace. Prints JSON.
"""

import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from bench.fill import copy_outcomes, fill_conversations  # noqa: E402
from insights import cache as analytics_cache  # noqa: E402
from insights import rollups  # noqa: E402
from learning import services  # noqa: E402
from learning.models import Role, User  # noqa: E402
from learning.tenancy.models import Tenant  # noqa: E402

OUTCOMES, FEEDBACK = int(sys.argv[1]), int(sys.argv[2])
CALLS = 40
NAIVE_CALLS = 10 if OUTCOMES <= 1_000_000 else 3  # seconds each at 10,000,000
# whose view is timed: a rep of the manager's team, the manager, an executive
ROLE_USERS = {"rep": "bench-rep-00", "manager": "bench-manager", "executive": "bench-exec"}
TYPES = [
    ("send_email", "email_engagement"),
    ("send_chat", "email_engagement"),
    ("schedule_meeting", "meeting_outcome"),
    ("advance_stage", "deal_progression"),
    ("escalate", "escalation_result"),
]
NAIVE = """
SELECT (o.occurred_at AT TIME ZONE 'UTC')::date, o.action_type, o.outcome_type, o.rep_id,
       count(*), count(*) FILTER (WHERE status = 'positive'),
       count(*) FILTER (WHERE status = 'negative'), count(*) FILTER (WHERE status = 'expired'),
       sum(predicted_confidence), sum(score)
  FROM outcomes_outcomerecord o
 WHERE o.occurred_at >= %s AND o.rep_id = ANY(%s)
 GROUP BY 1, 2, 3, 4
"""
NAIVE_FEEDBACK = """
SELECT (f.rated_at AT TIME ZONE 'UTC')::date, c.rep_id, f.source, count(*),
       sum(f.normalized_rating)
  FROM feedback_feedbackentry f JOIN outcomes_conversation c ON c.id = f.conversation_id
 WHERE f.rated_at >= %s AND c.rep_id = ANY(%s)
 GROUP BY 1, 2, 3
"""


def log(message: str) -> None:
    print(f"  dashboards: {message}", file=sys.stderr, flush=True)


def filled() -> bool:
    """Whether the tenant holds this bench's data at this size already (a fill is
    minutes at 10,000,000 outcomes: reused), within the last day (it spans 90 days back)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT (SELECT count(*) FROM outcomes_outcomerecord), "
            "(SELECT count(*) FROM feedback_feedbackentry), "
            "(SELECT max(created_at) FROM outcomes_outcomerecord), "
            # filled oldest first (an older fill in random order is not reused)
            "(SELECT occurred_at FROM outcomes_outcomerecord ORDER BY id LIMIT 1)"
        )
        outcomes, feedback, latest, oldest = cur.fetchone()
    now = datetime.now(UTC)
    fresh = latest is not None and latest > now - timedelta(hours=20)
    ordered = oldest is not None and oldest < now - timedelta(days=89)
    return outcomes == OUTCOMES and feedback == FEEDBACK and fresh and ordered


def populate(tenant: Tenant) -> tuple[list[int], bool]:
    """The manager's team (rep ids) and whether the data was filled anew."""
    rng = random.Random(5)
    now = datetime.now(UTC)
    with tenant_context(tenant):
        services.create_user(username="bench-manager", role=Role.MANAGER)
        services.create_user(username="bench-exec", role=Role.EXECUTIVE)
        reps = []
        for i in range(20):
            rep, _ = services.create_user(
                username=f"bench-rep-{i:02d}",
                role=Role.REP,
                manager_username="bench-manager" if i < 10 else None,
            )
            reps.append(rep.pk)
        if filled():
            log(f"reusing the {OUTCOMES:,} outcomes and {FEEDBACK:,} feedback entries")
            return reps[:10], False
        with connection.cursor() as django_cursor:
            conn = django_cursor.connection
            cur = conn.cursor()
            cur.execute(
                "TRUNCATE feedback_feedbackrevision, feedback_feedbackentry, "
                "feedback_draftfeedback, outcomes_signal, outcomes_outcomerecord, "
                "outcomes_conversation, learning_dailyoutcomerollup, "
                "learning_dailyfeedbackrollup, learning_rollupstate, "
                "calibration_countedoutcome CASCADE"
            )
            conversations = fill_conversations(cur, prefix="dash", reps=reps)
            log(f"copying {OUTCOMES:,} outcomes")
            copy_outcomes(
                cur,
                count=OUTCOMES,
                prefix="dash",
                conversations=conversations,
                types=TYPES,
                rng=rng,
                now=now,
                progress=lambda done: log(f"  {done:,} of {OUTCOMES:,} outcomes"),
                in_time_order=True,  # as the agent reports them
            )
            log(f"copying {FEEDBACK:,} feedback entries")
            fcols = (
                "target_type, target_id, conversation_id, source, rating, normalized_rating, "
                "comment, reviewer_id, reviewer_role, revision, rated_at, created_at, updated_at, "
                "correction, scores, normalized_scores, via, minted_by"
            )
            with cur.copy(f"COPY feedback_feedbackentry ({fcols}) FROM STDIN") as copy:
                for i in range(FEEDBACK):
                    if i and i % 500_000 == 0:
                        log(f"  {i:,} of {FEEDBACK:,} feedback entries")
                    conv, rep = conversations[i % len(conversations)]
                    # oldest first, as people give it
                    at = now - timedelta(seconds=90 * 86400 * (1 - (i + rng.random()) / FEEDBACK))
                    rating = rng.choice([-1, 0, 1])
                    copy.write_row(
                        (
                            "message",
                            f"dash-{i}",
                            conv,
                            "inline",
                            rating,
                            (rating + 1) / 2,
                            "",
                            rep,
                            "rep",
                            1,
                            at,
                            at,
                            at,
                            "",
                            "{}",
                            "{}",
                            "api",
                            "",
                        )
                    )
            # As autovacuum leaves tables after a load (PostgreSQL 13+ vacuums on inserts):
            # statistics, and a visibility map that lets index-only scans skip the heap.
            log("vacuum and analyze")
            cur.execute("VACUUM (ANALYZE) outcomes_outcomerecord")
            cur.execute("VACUUM (ANALYZE) feedback_feedbackentry")
            cur.execute("VACUUM (ANALYZE) outcomes_conversation")
        return reps[:10], True


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def timed(fn, calls: int = CALLS) -> dict[str, float]:
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": statistics.median(samples), "p95_ms": percentile(samples, 95)}


tenant = Tenant.objects.get(slug="bench")
team, fresh = populate(tenant)
with tenant_context(tenant):
    start = time.perf_counter()
    refreshed = rollups.refresh(full=fresh)
    refresh_seconds = time.perf_counter() - start
    log(f"{'full' if fresh else 'incremental'} rollup refresh: {refresh_seconds:.1f} s")
    tokens = {
        role: services.issue_user_token(user=User.objects.get(username=name)).raw
        for role, name in ROLE_USERS.items()
    }
client = Client(SERVER_NAME="127.0.0.1")
results: dict[str, Any] = {
    "refresh_seconds": refresh_seconds,
    "refresh": "full" if fresh else "incremental",
    "outcomes": OUTCOMES,
    "feedback": FEEDBACK,
}
for role in ROLE_USERS:
    url = f"/t/bench/api/v1/analytics/{role}/?days=30"
    auth = {"HTTP_AUTHORIZATION": f"Bearer {tokens[role]}"}

    def call(url=url, auth=auth) -> None:
        response = client.get(url, **auth)
        assert response.status_code == 200, response.content[:300]

    def uncached(call=call) -> None:
        with tenant_context(tenant):
            analytics_cache.invalidate()  # no transaction: bumps at once
        call()

    call()  # warm up
    results[f"{role}_uncached"] = timed(uncached)
    results[f"{role}_cached"] = timed(call)
    log(f"{role}: {results[f'{role}_uncached']}")
with tenant_context(tenant), connection.cursor() as django_cursor:
    cur = django_cursor.connection.cursor()
    since = datetime.now(UTC) - timedelta(days=30)

    def naive(scope: list[int]) -> None:
        cur.execute(NAIVE, [since, scope])
        cur.fetchall()
        cur.execute(NAIVE_FEEDBACK, [since, scope])
        cur.fetchall()

    with connection.cursor() as c:
        c.execute("SELECT array_agg(id) FROM learning_user WHERE role = 'rep'")
        everyone = c.fetchone()[0]
    with connection.cursor() as c:
        c.execute("SELECT id FROM learning_user WHERE username = %s", [ROLE_USERS["rep"]])
        rep = [c.fetchone()[0]]
    results["rep_naive"] = timed(lambda: naive(rep), NAIVE_CALLS)
    results["manager_naive"] = timed(lambda: naive(team), NAIVE_CALLS)
    results["executive_naive"] = timed(lambda: naive(everyone), NAIVE_CALLS)
    log(f"naive: rep {results['rep_naive']}, executive {results['executive_naive']}")
print(json.dumps(results))
