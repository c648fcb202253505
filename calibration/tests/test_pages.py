"""The manager page shows each action type's reliability diagram and the adjustment log."""

from __future__ import annotations

import json

from django.contrib.staticfiles import finders
from django_tenants.utils import tenant_context

from calibration import services
from calibration.tests.test_api import resolve_many


def test_manager_page_has_a_diagram_per_action_type_and_the_log(alpha, client) -> None:
    resolve_many(alpha, [0.85] * 30, [True] * 10 + [False] * 20, action_type="page_type")
    with tenant_context(alpha.tenant):
        services.recalibrate(action_type="page_type")
    alpha.login(client, "manager")
    page = client.get(alpha.url("manager/")).content.decode()
    assert 'aria-label="Reliability diagram for Page type"' in page
    assert "vendor/chartjs/chart.umd.min.js" in page and "js/reliability.js" in page
    marker = 'id="calibration-curves" type="application/json">'
    start = page.index(marker) + len(marker)
    curves = json.loads(page[start : page.index("</script>", start)])
    (curve,) = [c for c in curves if c["action_type"] == "page_type"]
    assert curve["sample_count"] == 30 and curve["bins"][8]["count"] == 30
    assert "1.00 → 0.90" in page and "overconfident by 0.517" in page  # the log
    reason = page[page.index("overconfident by 0.517") :]
    assert reason.startswith("overconfident by 0.517 on average: confidence 80-90 % (")
    alpha.login(client, "rep")
    assert client.get(alpha.url("manager/")).status_code == 403


def test_chart_library_is_served_by_the_app() -> None:
    # Installed from package-lock.json by `make install`; no CDN anywhere.
    assert finders.find("vendor/chartjs/chart.umd.min.js")
    assert finders.find("js/reliability.js")
