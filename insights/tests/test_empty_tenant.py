"""A new tenant's pages before the agent reports anything: no claim without data, and who
connects the agent (people: their admin; the admin: how, with this tenant's addresses)."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from outcomes.tests.factories import OutcomeFactory

CONNECT = "Connect the agent"
WAITING = (
    "The agent has not reported anything yet, so there is nothing to show here; "
    "your admin connects it."
)


@pytest.mark.parametrize(
    ("role", "page"), [("rep", "rep/"), ("manager", "manager/"), ("executive", "executive/")]
)
def test_people_are_told_their_admin_connects_the_agent(alpha, client, role, page) -> None:
    alpha.login(client, role)
    body = client.get(alpha.url(page)).content.decode()
    assert WAITING in body
    assert CONNECT not in body and "manage.py" not in body
    assert "succeed at 40 % or more" not in body


def test_the_admin_is_shown_how_to_connect_it(alpha, client) -> None:
    alpha.login(client, "admin")
    body = client.get(alpha.url("executive/")).content.decode()
    assert CONNECT in body and WAITING not in body
    api = f"http://testserver{alpha.url('api/v1/')}"
    assert f"manage.py create_agent_key {alpha.tenant.slug} sales-agent" in body
    assert f'curl -H "Authorization: Bearer llk_…" {api}me/' in body
    assert f"curl -X POST {api}outcomes/" in body and f"curl -X POST {api}signals/" in body
    assert f'href="{alpha.url("api/v1/docs/")}"' in body


def test_once_the_agent_reported_the_notice_goes_and_an_empty_period_says_so(alpha, client) -> None:
    alpha.login(client, "manager")
    body = client.get(alpha.url("manager/")).content.decode()
    assert "No actions in this period yet, so nothing to say about any rep." in body
    with tenant_context(alpha.tenant):
        OutcomeFactory(action_id="old-one", days_ago=20)  # before the 7 days shown
    body = client.get(alpha.url("manager/?days=7")).content.decode()
    assert 'id="connect-agent"' not in body


def test_the_tenant_admin_links_to_the_how_to_for_admins_only(alpha, client) -> None:
    alpha.login(client, "admin")
    index = client.get(alpha.url("admin/")).content.decode()
    assert f'<a href="{alpha.url("connect/")}">Connect the agent</a>' in index
    page = client.get(alpha.url("connect/")).content.decode()
    assert "The agent has not reported anything yet, so these pages have nothing" in page
    assert f"manage.py create_agent_key {alpha.tenant.slug} sales-agent" in page
    with tenant_context(alpha.tenant):
        OutcomeFactory(action_id="first")
    page = client.get(alpha.url("connect/")).content.decode()
    assert "The agent has reported actions already" in page
    assert "has not reported anything yet" not in page
    alpha.login(client, "manager")  # managers review in the admin: no link they cannot open
    assert 'id="connect-agent-link"' not in client.get(alpha.url("admin/")).content.decode()
    assert client.get(alpha.url("connect/")).status_code == 403
