"""The product's bin updates under contention: WRITERS processes (each its own database
connection, as workers are; the raw baseline's writers each have theirs too), each
resolution counted by calibration.services.count_resolved_outcomes in its own transaction,
into the same 10 bins. Prints {"seconds", "resolutions", "bin_total", "per_bin_ok"} as JSON."""

import json
import multiprocessing
import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# one plain connection per writer process: a pool's connections must not cross a fork
os.environ["DB_POOL_MAX_SIZE"] = "0"
django.setup()

from django.db import connection  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from calibration import services  # noqa: E402
from calibration.models import CalibrationBin, CountedOutcome  # noqa: E402
from learning.tenancy.models import Tenant  # noqa: E402
from outcomes.events import ResolvedOutcome  # noqa: E402

ACTION_TYPE = "contention"
writers, total = int(sys.argv[1]), int(sys.argv[2])
tenant = Tenant.objects.get(slug="bench")


def event(i: int) -> ResolvedOutcome:
    return ResolvedOutcome(
        id=10_000_000 + i,
        action_type=ACTION_TYPE,
        outcome_type="email_engagement",
        status="positive" if i % 3 else "negative",
        score=None,
        predicted_confidence=(i % 10) / 10 + 0.05,  # every bin in turn
        rep_id=None,
        signal_source="event",
    )


with tenant_context(tenant):
    CalibrationBin.objects.filter(action_type=ACTION_TYPE).delete()
    CountedOutcome.objects.filter(outcome_id__gte=10_000_000).delete()
    services.count_resolved_outcomes([event(-1)])  # the bins exist, as in steady state
    CalibrationBin.objects.filter(action_type=ACTION_TYPE).update(
        n=0, sum_y=0, sum_p=0, sum_p2=0, sum_py=0
    )

connection.close()  # each writer opens its own (a forked process must not share this one)
forked = multiprocessing.get_context("fork")
barrier = forked.Barrier(writers + 1)


def writer(w: int) -> None:
    try:
        with tenant_context(tenant):
            barrier.wait()
            for i in range(w, total, writers):
                services.count_resolved_outcomes([event(i)])
    finally:
        connection.close()


processes = [forked.Process(target=writer, args=(w,)) for w in range(writers)]
for process in processes:
    process.start()
barrier.wait()
start = time.perf_counter()
for process in processes:
    process.join()
seconds = time.perf_counter() - start
failed = [p.exitcode for p in processes if p.exitcode != 0]
if failed:
    raise SystemExit(f"{len(failed)} writers failed (exit codes {failed[:5]})")
with tenant_context(tenant):
    counts = dict(
        CalibrationBin.objects.filter(action_type=ACTION_TYPE).values_list("bin_index", "n")
    )
expected = {k: len(range(k, total, 10)) for k in range(10)}
print(
    json.dumps(
        {
            "seconds": seconds,
            "resolutions": total,
            "bin_total": sum(counts.values()),
            "per_bin_ok": counts == expected,
        }
    )
)
