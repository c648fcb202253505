"""A tenant's settings pages are one row each: the admin opens that row, never a list to
add to, and nobody is sent to a "Your role cannot open this page" dead end."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django_tenants.utils import tenant_context

from learning.admin_access import SettingsAdmin

SETTINGS_MODELS = sorted(
    (model._meta.app_label, model._meta.model_name)
    for model, model_admin in admin.site._registry.items()
    if isinstance(model_admin, SettingsAdmin)
)


def test_every_settings_model_is_found() -> None:
    assert len(SETTINGS_MODELS) >= 6
    assert ("calibration", "calibrationsettings") in SETTINGS_MODELS


@pytest.mark.parametrize(("app", "model"), SETTINGS_MODELS)
def test_the_admin_opens_the_one_row(alpha, app, model) -> None:
    client = alpha.login(Client(), "admin")
    index = client.get(alpha.url("admin/")).content.decode()
    assert f"/admin/{app}/{model}/" in index  # listed …
    assert f"/admin/{app}/{model}/add/" not in index  # … with no "+ Add" beside it
    row = alpha.url(f"admin/{app}/{model}/1/change/")
    for start in (f"admin/{app}/{model}/", f"admin/{app}/{model}/add/"):
        response = client.get(alpha.url(start))
        assert (response.status_code, response["Location"]) == (302, row)
    page = client.get(row)
    assert page.status_code == 200
    assert 'name="_save"' in page.content.decode()  # an admin edits it
    with tenant_context(alpha.tenant):
        assert apps.get_model(app, model).objects.count() == 1


def test_readers_see_the_settings_in_force(alpha) -> None:
    """Before any admin has saved them, a reader (a manager: executives have no admin)
    sees the defaults, and nothing is written by their visit."""
    client = alpha.login(Client(), "manager")
    index = client.get(alpha.url("admin/")).content.decode()
    assert not re.search(r'href="[^"]*settings/add/"', index)
    opened = 0
    for app, model in SETTINGS_MODELS:
        listing = client.get(alpha.url(f"admin/{app}/{model}/"))
        if f"/admin/{app}/{model}/" not in index:
            assert listing.status_code == 403  # not theirs (the Slack connection: admins)
            continue
        assert listing.status_code == 302
        page = client.get(listing["Location"])
        assert page.status_code == 200, (app, model)
        assert 'name="_save"' not in page.content.decode()  # read only
        opened += 1
    assert opened >= 5
    from calibration.models import CalibrationSettings

    with tenant_context(alpha.tenant):
        assert not CalibrationSettings.objects.exists()


def test_calibration_settings_show_forgetting_and_drift(alpha) -> None:
    """The half-life and the drift tolerance are where the README says: on this page."""
    client = alpha.login(Client(), "admin")
    page = client.get(alpha.url("admin/calibration/calibrationsettings/1/change/"))
    html = page.content.decode()
    for field in ("half_life", "drift_tolerance", "drift_check_every", "drift_alarm_every"):
        assert f'name="{field}"' in html
