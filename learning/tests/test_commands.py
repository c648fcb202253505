"""The ops commands of the spec: idempotent, with the documented --json shapes."""

from __future__ import annotations

import json
import os
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


def test_create_tenant_json_and_idempotence(db, client, tmp_path, settings) -> None:
    settings.DATA_DIR = tmp_path  # no `make run` from here: the URLs are an example
    first = run("create_tenant", "gamma-co", "--name", "Gamma Co", "--json")
    assert {k: first[k] for k in ("slug", "schema", "web_url", "api_url", "headers")} == {
        "slug": "gamma-co",
        "schema": "t_gamma_co",
        "web_url": "http://127.0.0.1:8000/t/gamma-co/",
        "api_url": "http://127.0.0.1:8000/t/gamma-co/api/v1/",
        "headers": {},
    }
    assert first["created"] is True
    assert first["urls_from"] == "example"
    again = run("create_tenant", "gamma-co", "--json")
    assert again["created"] is False
    assert run("create_tenant", "gamma-co", "--name", "Gamma Co", "--json") == again
    assert Tenant.objects.filter(slug="gamma-co").count() == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('t_gamma_co.learning_user') IS NOT NULL")
        assert cursor.fetchone() == (True,)
    assert client.get("/t/gamma-co/login/").status_code == 200


def test_a_rerun_with_another_name_is_refused_and_changes_nothing(db) -> None:
    run("create_tenant", "delta", "--name", "Delta Co", "--json")
    with pytest.raises(CommandError, match="exists already, named 'Delta Co': nothing changed"):
        call_command("create_tenant", "delta", "--name", "Delta Corp", stdout=StringIO())
    assert Tenant.objects.get(slug="delta").name == "Delta Co"


def test_the_printed_urls_name_the_served_port_or_say_they_are_an_example(
    db, tmp_path, settings, monkeypatch
) -> None:
    settings.DATA_DIR = tmp_path
    monkeypatch.delenv("LL_BASE_URL", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    out = StringIO()
    call_command("create_tenant", "epsilon", stdout=out)
    assert out.getvalue().splitlines()[1:] == [
        "  web: http://127.0.0.1:8000/t/epsilon/",
        "  api: http://127.0.0.1:8000/t/epsilon/api/v1/",
        "  (an example: no `make run` runs from this folder and LL_BASE_URL is not set, so "
        "these assume a server on port 8000; use the address your server answers on)",
    ]
    # a `make run` of this folder serving on 8123 (its pid alive: this test's own)
    (tmp_path / "web-url.json").write_text(
        json.dumps({"pid": os.getpid(), "url": "http://127.0.0.1:8123"})
    )
    served = run("create_tenant", "epsilon", "--json")
    assert (served["web_url"], served["urls_from"]) == (
        "http://127.0.0.1:8123/t/epsilon/",
        "make run",
    )
    out = StringIO()
    call_command("create_tenant", "epsilon", stdout=out)
    assert "an example" not in out.getvalue()
    # that `make run` has stopped (no such process): an example again
    (tmp_path / "web-url.json").write_text(json.dumps({"pid": 2**22 + 7, "url": "http://x:1"}))
    assert run("create_tenant", "epsilon", "--json")["urls_from"] == "example"
    settings.LL_BASE_URL = "https://ll.example.com/"
    configured = run("create_tenant", "epsilon", "--json")
    assert (configured["api_url"], configured["urls_from"]) == (
        "https://ll.example.com/t/epsilon/api/v1/",
        "LL_BASE_URL",
    )


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
