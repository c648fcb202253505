"""CPU per uncached analytics request on the bench tenant a dashboards run left: this
process's (Django, DRF, the product) plus its PostgreSQL backend's, read from /proc. On a
shared machine the wall time waits for a core; the CPU is what an idle one would take.
Parallel query is off for the measure, so all of the database's work is in the backend.

    DATABASE_URL=postgresql://…/<name>_bench .venv/bin/python -m bench.dashboards_cpu [calls]

(the database a dashboards run filled: `<DATABASE_URL's name>_bench`). /proc counts in
ticks of 10 ms, so each figure is within about 10 ms.
"""

import os
import statistics
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from bench.environment import cpu_seconds  # noqa: E402
from insights import cache as analytics_cache  # noqa: E402
from learning import services  # noqa: E402
from learning.models import User  # noqa: E402
from learning.tenancy.models import Tenant  # noqa: E402

CALLS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
# as bench.dashboards_product times them (a script: importing it would run it)
ROLE_USERS = {"rep": "bench-rep-00", "manager": "bench-manager", "executive": "bench-exec"}

tenant = Tenant.objects.get(slug="bench")
with tenant_context(tenant):
    tokens = {
        role: services.issue_user_token(user=User.objects.get(username=name)).raw
        for role, name in ROLE_USERS.items()
    }
client = Client(SERVER_NAME="127.0.0.1")
for role, token in tokens.items():
    url = f"/t/bench/api/v1/analytics/{role}/?days=30"
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    client.get(url, **auth)  # warm up
    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 0")
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    app, database, wall = [], [], []
    for _ in range(CALLS):
        with tenant_context(tenant):
            analytics_cache.bump()
        app0, db0, wall0 = time.process_time(), cpu_seconds([backend]), time.perf_counter()
        assert client.get(url, **auth).status_code == 200
        app.append((time.process_time() - app0) * 1000)
        database.append((cpu_seconds([backend]) - db0) * 1000)
        wall.append((time.perf_counter() - wall0) * 1000)
    total = sorted(a + d for a, d in zip(app, database, strict=True))
    print(
        f"{role}: CPU per uncached request p50 {statistics.median(total):.0f} ms, "
        f"p95 {total[int(0.95 * len(total)) - 1]:.0f} ms (app {statistics.median(app):.0f} + "
        f"database {statistics.median(database):.0f}); wall p50 {statistics.median(wall):.0f} ms",
        flush=True,
    )
