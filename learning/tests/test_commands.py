"""The ops commands of the spec: idempotent, with the documented --json shapes."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import tenant_context

from learning.models import AgentKey, ApiToken, User
from learning.tenancy.models import Tenant


def run(*args: str) -> dict:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def test_create_tenant_json_and_idempotence(db, client) -> None:
    first = run("create_tenant", "gamma-co", "--name", "Gamma Co", "--json")
    assert {k: first[k] for k in ("slug", "schema", "web_url", "api_url", "headers")} == {
        "slug": "gamma-co",
        "schema": "t_gamma_co",
        "web_url": "http://127.0.0.1:8000/t/gamma-co/",
        "api_url": "http://127.0.0.1:8000/t/gamma-co/api/v1/",
        "headers": {},
    }
    assert first["created"] is True
    again = run("create_tenant", "gamma-co", "--json")
    assert again["created"] is False
    assert Tenant.objects.filter(slug="gamma-co").count() == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('t_gamma_co.learning_user') IS NOT NULL")
        assert cursor.fetchone() == (True,)
    assert client.get("/t/gamma-co/login/").status_code == 200


@pytest.mark.parametrize("slug", ["Bad", "9lives", "a_b", "x" * 41, "-x"])
def test_create_tenant_rejects_bad_slugs(db, slug) -> None:
    with pytest.raises(CommandError, match="slug"):
        call_command("create_tenant", slug, "--json", stdout=StringIO())
    assert not Tenant.objects.filter(slug=slug).exists()


def test_create_user_is_idempotent_and_prints_a_working_token(alpha, client) -> None:
    first = run(
        "create_user", "alpha", "newrep", "--role", "rep", "--manager", "alpha-manager", "--json"
    )
    second = run(
        "create_user", "alpha", "newrep", "--role", "rep", "--manager", "alpha-manager", "--json"
    )
    assert first == second
    assert set(first) == {"username", "token"}
    with tenant_context(alpha.tenant):
        user = User.objects.get(username="newrep")
        assert user.manager.username == "alpha-manager"
        assert ApiToken.objects.filter(user=user).count() == 1
        assert not user.has_usable_password()
    response = client.get(alpha.url("api/v1/me/"), HTTP_AUTHORIZATION=f"Bearer {first['token']}")
    assert response.json()["username"] == "newrep"


def test_create_user_updates_role_and_password(alpha, client) -> None:
    run("create_user", "alpha", "shifty", "--role", "rep", "--json")
    run(
        "create_user", "alpha", "shifty", "--role", "manager", "--password", "s3cret-pass", "--json"
    )
    with tenant_context(alpha.tenant):
        user = User.objects.get(username="shifty")
        assert (user.role, user.is_staff, user.is_superuser) == ("manager", True, False)
        assert user.check_password("s3cret-pass")


@pytest.mark.parametrize(
    "args,message",
    [
        (["alpha", "x", "--role", "rep", "--manager", "nobody"], "manager"),
        (["alpha", "x", "--role", "rep", "--manager", "alpha-rep"], "not a manager"),
        (["alpha", "bad name!", "--role", "rep"], "username"),
        (["nowhere", "x", "--role", "rep"], "No tenant"),
    ],
)
def test_create_user_errors(alpha, args, message) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("create_user", *args, "--json", stdout=StringIO())
    with tenant_context(alpha.tenant):
        assert not User.objects.filter(username__in=["x", "bad name!"]).exists()


def test_create_user_rejects_unknown_role(alpha) -> None:
    with pytest.raises(CommandError):
        call_command("create_user", "alpha", "x", "--role", "wizard", stdout=StringIO())


def test_create_agent_key_prints_a_new_key_each_time(alpha, client) -> None:
    first = run("create_agent_key", "alpha", "ingest", "--json")
    second = run("create_agent_key", "alpha", "ingest", "--json")
    assert set(first) == {"key"} and first["key"] != second["key"]
    for raw in (first["key"], second["key"]):
        response = client.get(alpha.url("api/v1/me/"), HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert response.json()["agent_key"] == "ingest"
    with tenant_context(alpha.tenant):
        stored = list(AgentKey.objects.filter(name="ingest").values_list("digest", flat=True))
    assert len(stored) == 2 and first["key"] not in stored  # only hashes are kept
    out = StringIO()
    call_command("revoke_agent_key", "alpha", "ingest", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"revoked": 2}
    response = client.get(alpha.url("api/v1/me/"), HTTP_AUTHORIZATION=f"Bearer {first['key']}")
    assert response.status_code == 401
