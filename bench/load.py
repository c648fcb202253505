"""The load test: `make load`, against the server `make run` is running.

Locust (headless) drives mixed traffic on loopback for a bounded time: the agent posting
actions, signals and calibration questions (3 in 4 users), managers reading dashboards and
giving feedback (1 in 4). Prints throughput, p50/p95/p99 latency and errors per request
type, and writes them to .data/bench/results-load.json.

Environment: LOAD_USERS (default 30), LOAD_SECONDS (default 120), LOAD_HOST (default
http://127.0.0.1:8000), LOAD_TENANT (default demo).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent


def _manager_token(slug: str) -> tuple[str, str]:
    """The tenant's agent key (written by `make run`) and a fresh token for a manager."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django_tenants.utils import tenant_context

    from learning import services
    from learning.models import Role, User
    from learning.tenancy.selectors import ready_tenant_by_slug

    tenant = ready_tenant_by_slug(slug=slug)
    if tenant is None:
        raise SystemExit(f"No tenant {slug!r}: start `make run` first.")
    key_file = ROOT / ".data" / f"demo-agent-key.{tenant.schema_name}"
    if not key_file.exists():
        raise SystemExit(f"No agent key in {key_file}: start `make run` first.")
    with tenant_context(tenant):
        manager = User.objects.filter(role=Role.MANAGER).order_by("pk").first()
        if manager is None:
            raise SystemExit("The tenant has no manager.")
        token = services.issue_user_token(user=manager, name="load test").raw
    return key_file.read_text().strip(), token


def main() -> int:
    host = os.environ.get("LOAD_HOST", "http://127.0.0.1:8000")
    slug = os.environ.get("LOAD_TENANT", "demo")
    users = int(os.environ.get("LOAD_USERS", "30"))
    seconds = int(os.environ.get("LOAD_SECONDS", "120"))
    console = Console()
    try:
        urllib.request.urlopen(f"{host}/healthz", timeout=5).read()
    except OSError:
        console.print(f"[red]Nothing answers at {host}: run `make run` in another terminal.")
        return 2
    agent_key, token = _manager_token(slug)
    out = ROOT / ".data" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    console.print(f"[bold]Load: {users} users for {seconds} s against {host}/t/{slug}/ …")
    env = {
        **os.environ,
        "LL_TENANT": f"/t/{slug}",
        "LL_AGENT_KEY": agent_key,
        "LL_USER_TOKEN": token,
    }
    subprocess.run(
        [
            sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
            "--headless", "--users", str(users), "--spawn-rate", str(max(1, users // 10)),
            "--run-time", f"{seconds}s", "--host", host, "--csv", str(out / "load"),
            "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "10",
        ],
        env=env,
        check=False,
    )  # fmt: skip
    rows = list(csv.DictReader((out / "load_stats.csv").open()))
    table = Table(title=f"Load test: {users} users, {seconds} s, {host}")
    for column in ("request", "count", "failures", "req/s", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="right" if column != "request" else "left")
    results = []
    for row in rows:
        entry = {
            "request": row["Name"],  # the locustfile names each request "METHOD path"
            "count": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "rps": float(row["Requests/s"]),
            "p50_ms": float(row["50%"] or 0),
            "p95_ms": float(row["95%"] or 0),
            "p99_ms": float(row["99%"] or 0),
        }
        results.append(entry)
        table.add_row(
            entry["request"], str(entry["count"]), str(entry["failures"]), f"{entry['rps']:.1f}",
            f"{entry['p50_ms']:.0f}", f"{entry['p95_ms']:.0f}", f"{entry['p99_ms']:.0f}",
        )  # fmt: skip
    console.print(table)
    path = out / "results-load.json"
    path.write_text(json.dumps({"users": users, "seconds": seconds, "results": results}, indent=2))
    console.print(f"Written to {path}")
    total = next((r for r in results if r["request"] == "Aggregated"), None)
    return 0 if total is not None and total["failures"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
