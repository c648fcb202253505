"""A process remembers an agent key it checked (the hot path reads Redis, not the
database), and forgets it the moment the key is revoked or deleted, in every way that
can happen: the service (and its command), the admin's action, a deletion."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from learning import selectors, services
from learning.models import AgentKey


def _me(client, alpha, raw):
    return client.get(alpha.url("api/v1/me/"), HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_a_remembered_key_costs_no_query(alpha, client) -> None:
    with tenant_context(alpha.tenant):
        _key, raw = services.create_agent_key(name="memo")
    assert _me(client, alpha, raw).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert _me(client, alpha, raw).status_code == 200
    assert not [q for q in queries if "learning_agentkey" in q["sql"]]


def test_revoked_by_the_service_stops_at_once(alpha, client) -> None:
    with tenant_context(alpha.tenant):
        _key, raw = services.create_agent_key(name="memo")
    assert _me(client, alpha, raw).status_code == 200
    with tenant_context(alpha.tenant):
        assert services.revoke_agent_keys(name="memo") == 1
    assert _me(client, alpha, raw).status_code == 401


def test_revoked_in_the_admin_or_deleted_stops_at_once(alpha, client) -> None:
    with tenant_context(alpha.tenant):
        key, raw = services.create_agent_key(name="memo")
        _other, other_raw = services.create_agent_key(name="memo2")
    assert _me(client, alpha, raw).status_code == 200
    assert _me(client, alpha, other_raw).status_code == 200
    alpha.login(client, "admin")
    response = client.post(
        alpha.url("admin/learning/agentkey/"),
        {"action": "revoke", "_selected_action": [key.pk]},
    )
    assert response.status_code == 302
    client.logout()
    assert _me(client, alpha, raw).status_code == 401
    with tenant_context(alpha.tenant):
        AgentKey.objects.filter(name="memo2").delete()
    assert _me(client, alpha, other_raw).status_code == 401


def test_keys_are_remembered_per_tenant(alpha, beta, client) -> None:
    with tenant_context(alpha.tenant):
        _key, raw = services.create_agent_key(name="memo")
    assert _me(client, alpha, raw).status_code == 200
    assert client.get(beta.url("api/v1/me/"), HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    with tenant_context(beta.tenant):
        before = selectors.credentials_version()
        selectors.after_revocation()
        assert selectors.credentials_version() == before + 1
