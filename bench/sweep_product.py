"""Run the product's expiry sweep in the bench tenant and print its timing as JSON."""

import json
import os
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django_tenants.utils import tenant_context  # noqa: E402

from learning.tenancy.models import Tenant  # noqa: E402
from outcomes import sweeps  # noqa: E402

with tenant_context(Tenant.objects.get(slug="bench")):
    start = time.perf_counter()
    result = sweeps.run_sweep(window="expiry")
    seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "resolved": result.total_resolved}))
