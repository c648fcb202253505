"""Tenants never see each other: routing, credentials, sessions, data, admin."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client, override_settings
from django_tenants.utils import tenant_context

from learning import services
from learning.models import User


def test_path_prefix_selects_the_tenant_schema(alpha, beta, client: Client) -> None:
    for world in (alpha, beta):
        response = client.get(world.url("api/v1/me/"), **world.bearer("agent"))
        assert response.status_code == 200
        assert response.json()["tenant"] == {
            "slug": world.slug,
            "name": world.tenant.name,
            "schema": world.tenant.schema_name,
        }
    assert connection.schema_name == "public"  # restored after each request


def test_unknown_tenant_is_404_and_bare_prefix_redirects(alpha, client: Client) -> None:
    assert client.get("/t/nobody/login/").status_code == 404
    response = client.get("/t/alpha?x=1")
    assert response.status_code == 302
    assert response["Location"] == "/t/alpha/?x=1"


def test_urls_built_inside_a_tenant_carry_its_prefix(alpha, client: Client) -> None:
    response = client.get(alpha.url("manager/"))
    assert response.status_code == 302
    assert response["Location"] == "/t/alpha/login/?next=/t/alpha/manager/"


@pytest.mark.parametrize("role", ["agent", "rep", "manager", "executive", "admin"])
def test_credentials_of_one_tenant_are_worthless_in_another(alpha, beta, client, role) -> None:
    assert client.get(alpha.url("api/v1/me/"), **alpha.bearer(role)).status_code == 200
    assert client.get(beta.url("api/v1/me/"), **alpha.bearer(role)).status_code == 401
    assert client.get(alpha.url("api/v1/me/"), **beta.bearer(role)).status_code == 401


def test_session_of_one_tenant_does_not_sign_in_to_another(alpha, beta, client) -> None:
    alpha.login(client, "manager")
    assert client.get(alpha.url("manager/")).status_code == 200
    # Even a session id presented under the other tenant's cookie name is unknown there.
    client.cookies["sessionid_beta"] = alpha.sessions["manager"]
    response = client.get(beta.url("manager/"))
    assert response.status_code == 302
    assert response["Location"].startswith("/t/beta/login/")


def test_login_sets_cookies_scoped_to_the_tenant(alpha, client) -> None:
    client.get(alpha.url("login/"))
    response = client.post(
        alpha.url("login/"),
        {
            "username": "alpha-rep",
            "password": "correct-horse-battery",
            "csrfmiddlewaretoken": client.cookies["csrftoken_alpha"].value,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/t/alpha/"
    session = response.cookies["sessionid_alpha"]
    assert session["path"] == "/t/alpha/"
    assert session["httponly"]
    assert "sessionid" not in response.cookies
    assert client.get(alpha.url("")).headers["Location"] == "/t/alpha/rep/"


def test_tenant_data_is_invisible_from_the_other_schema(alpha, beta) -> None:
    with tenant_context(alpha.tenant):
        services.create_user(username="only-in-alpha", role="rep")
        assert User.objects.filter(username="only-in-alpha").exists()
        alpha_users = set(User.objects.values_list("username", flat=True))
    with tenant_context(beta.tenant):
        assert not User.objects.filter(username="only-in-alpha").exists()
        beta_users = set(User.objects.values_list("username", flat=True))
    assert alpha_users.isdisjoint(beta_users)


def test_admin_changelist_shows_only_own_tenant(alpha, beta, client) -> None:
    alpha.login(client, "admin")
    page = client.get(alpha.url("admin/learning/user/")).content.decode()
    assert "alpha-rep" in page
    assert "beta-rep" not in page
    # The shared tables (tenants, beat schedules) are not in a tenant's admin at all.
    assert client.get(alpha.url("admin/tenancy/tenant/")).status_code == 404
    assert client.get(alpha.url("admin/django_celery_beat/periodictask/")).status_code == 404


def test_revoked_agent_key_stops_working(alpha, client) -> None:
    with tenant_context(alpha.tenant):
        _key, raw = services.create_agent_key(name="temporary")
        headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        assert client.get(alpha.url("api/v1/me/"), **headers).status_code == 200
        assert services.revoke_agent_keys(name="temporary") == 1
    assert client.get(alpha.url("api/v1/me/"), **headers).status_code == 401


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer a b", "Bearer llk_not-a-key", "Bearer llu_forged", "Bearer \u00e9"],
)
def test_malformed_or_unknown_bearer_is_401(alpha, client, header) -> None:
    response = client.get(alpha.url("api/v1/me/"), HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_ops_admin_lives_outside_tenants(alpha, client) -> None:
    from django_tenants.utils import schema_context

    with schema_context("public"):
        services.create_user(username="ops-test", role="admin", password="ops-pass-123")
    assert client.get("/admin/").status_code == 302
    assert client.login(username="ops-test", password="ops-pass-123")
    page = client.get("/admin/tenancy/tenant/").content.decode()
    assert "alpha" in page and "beta" in page
    assert client.get("/admin/django_celery_beat/periodictask/").status_code == 200
    # The public session means nothing inside a tenant.
    assert client.get(alpha.url("admin/")).status_code == 302


def test_flash_messages_stay_in_their_tenant(alpha, beta, client) -> None:
    with tenant_context(alpha.tenant):
        key, _ = services.create_agent_key(name="to-revoke")
    alpha.login(client, "admin")
    response = client.post(
        alpha.url("admin/learning/agentkey/"), {"action": "revoke", "_selected_action": [key.pk]}
    )
    assert response.status_code == 302
    assert "messages" not in response.cookies  # kept in the tenant's session instead
    beta.login(client, "admin")
    assert "Revoked" not in client.get(beta.url("admin/")).content.decode()
    assert "Revoked 1." in client.get(alpha.url("admin/")).content.decode()


def test_tenant_on_its_own_host_name(alpha, client) -> None:
    from learning.tenancy.models import Domain

    Domain.objects.create(domain="alpha.example.test", tenant=alpha.tenant)
    host = {"HTTP_HOST": "alpha.example.test"}
    with override_settings(ALLOWED_HOSTS=["alpha.example.test"]):
        client.get("/login/", **host)
        cookie = client.cookies["csrftoken_alpha"]
        assert cookie["path"] == "/"
        response = client.post(
            "/login/",
            {
                "username": "alpha-rep",
                "password": "correct-horse-battery",
                "csrfmiddlewaretoken": cookie.value,
            },
            **host,
        )
        assert response.status_code == 302 and response["Location"] == "/"
        assert response.cookies["sessionid_alpha"]["path"] == "/"
        assert (
            client.get("/api/v1/me/", **host, **alpha.bearer("agent")).json()["tenant"]["slug"]
            == "alpha"
        )


def test_a_prefix_never_reaches_another_tenant_on_a_tenants_own_host(alpha, beta, client) -> None:
    """globex's host carries globex's cookies: acme must not be served there."""
    from learning.tenancy.models import Domain

    Domain.objects.create(domain="beta.example.test", tenant=beta.tenant)
    host = {"HTTP_HOST": "beta.example.test"}
    with override_settings(ALLOWED_HOSTS=["beta.example.test"]):
        assert client.get("/t/alpha/login/", **host).status_code == 404
        api = client.get("/t/alpha/api/v1/me/", **host, **alpha.bearer("agent"))
        assert api.status_code == 404
        # the host's own tenant is served, with or without its prefix
        assert client.get("/t/beta/login/", **host).status_code == 200
        assert client.get("/login/", **host).status_code == 200
    assert client.get("/t/alpha/login/").status_code == 200  # on a neutral host: by prefix


def test_api_responses_are_never_stored_by_a_cache(alpha, client) -> None:
    for role, path in (("agent", "me/"), ("manager", "analytics/manager/"), ("agent", "x/")):
        response = client.get(alpha.url(f"api/v1/{path}"), **alpha.bearer(role))
        assert "no-store" in response["Cache-Control"], path
        assert "private" in response["Cache-Control"]
    assert "no-store" in client.get(alpha.url("api/v1/me/"))["Cache-Control"]  # a 401 too


@pytest.mark.parametrize(
    "path",
    ["/t/%00/", "/t/alpha%00/", "/t/Alpha/", "/t/a_b/", "/t/" + "x" * 60 + "/", "/t/alpha/rep/%0A"],
)
def test_malformed_tenant_paths_are_404(alpha, client, path) -> None:
    assert client.get(path).status_code == 404


def test_revoking_by_prefix_needs_the_whole_prefix(alpha) -> None:
    from learning.errors import InvalidInput

    with tenant_context(alpha.tenant):
        key, _ = services.create_agent_key(name="by-prefix")
        with pytest.raises(InvalidInput):
            services.revoke_agent_keys(prefix="llk_")
        assert services.revoke_agent_keys(prefix=key.prefix) == 1


def test_remembered_routes_follow_changes_to_tenants_and_domains(alpha, client) -> None:
    """Routes are kept in memory (TENANT_CACHE_SECONDS), but a tenant taken offline or a
    domain removed in this process is routed accordingly at once."""
    from learning.tenancy.models import Domain

    me = alpha.url("api/v1/me/")
    assert client.get(me, **alpha.bearer("agent")).status_code == 200  # now remembered
    domain = Domain.objects.create(domain="alpha.example.test", tenant=alpha.tenant)
    with override_settings(ALLOWED_HOSTS=["alpha.example.test", "testserver"]):
        host = {"HTTP_HOST": "alpha.example.test", **alpha.bearer("agent")}
        assert client.get("/api/v1/me/", **host).status_code == 200
        domain.delete()
        assert client.get("/api/v1/me/", **host).status_code == 404
    alpha.tenant.ready = False
    try:
        alpha.tenant.save(update_fields=["ready"])  # rolled back after the test
        assert client.get(me, **alpha.bearer("agent")).status_code == 404
    finally:
        alpha.tenant.ready = True  # the shared test tenant object
