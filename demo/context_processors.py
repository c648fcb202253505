from __future__ import annotations

import time
from typing import Any

from django.http import HttpRequest

from demo import history
from learning.tenancy.context import current_schema_name
from learning.tenancy.middleware import is_tenant_request

# Schemas with no build under way, until when (monotonic): a build only starts before the
# web server does (seed_demo records it), so a quiet schema is asked again once a minute.
_quiet_until: dict[str, float] = {}


def history_build(request: HttpRequest) -> dict[str, Any]:
    """`demo_history`: the tenant's demo history build while it runs (the pages' banner)."""
    if not is_tenant_request(request) or not getattr(request.user, "is_authenticated", False):
        return {}
    schema = current_schema_name()
    if _quiet_until.get(schema, 0.0) > time.monotonic():
        return {}
    build = history.in_progress()
    if build is None:
        _quiet_until[schema] = time.monotonic() + 60
        return {}
    return {"demo_history": build}


def forget() -> None:
    """Ask again on the next page (tests: a rolled-back build leaves no trace)."""
    _quiet_until.clear()
