"""Pages show times in the reader's time zone, and say which; a new person starts in the
workspace's zone."""

from __future__ import annotations

from datetime import UTC, datetime

from django.test import Client
from django_tenants.utils import tenant_context

from learning import services
from learning.models import User
from learning.tenancy.models import Tenant
from outcomes.tests.factories import OutcomeFactory

NOON_UTC = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # 13:00 in Paris (winter time)


def test_a_person_in_paris_reads_paris_time(alpha) -> None:
    with tenant_context(alpha.tenant):
        OutcomeFactory(action_id="tz-1", rep="alpha-rep", occurred_at=NOON_UTC)
    client = alpha.login(Client(), "rep")
    page = client.get(alpha.url("actions/2026-01-15/")).content.decode()
    assert ">12:00</time>" in page and "Times are shown in UTC" in page

    with tenant_context(alpha.tenant):
        User.objects.filter(pk=alpha.users["rep"].pk).update(time_zone="Europe/Paris")
    page = client.get(alpha.url("actions/2026-01-15/")).content.decode()
    assert ">13:00</time>" in page and ">12:00</time>" not in page
    assert page.count("Times are shown in Europe/Paris") == 1


def test_a_new_person_starts_in_the_workspace_time_zone(alpha) -> None:
    Tenant.objects.filter(pk=alpha.tenant.pk).update(time_zone="Europe/Berlin")
    with tenant_context(alpha.tenant):
        user, created = services.create_user(username="alpha-new", role="rep")
        assert created and user.time_zone == "Europe/Berlin"
        # an existing person's choice stays theirs
        again, _ = services.create_user(
            username="alpha-rep", role="rep", manager_username="alpha-manager"
        )
        assert again.time_zone == "UTC"
