"""Smaller security findings (issue 25, item 4), each pinned by a test that failed before
its fix: empty export filters, JSON errors under the API for bodies over the limit,
message ids that name another conversation, the websocket's origin and sign-out, the
admin's password change, mail in production, private files, the CSV formula guard and the
admin's filter sidebar."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import stat
import subprocess
import sys
from importlib import import_module
from typing import Any

import pytest
import websockets
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core import mail
from django.test import Client
from django_tenants.utils import tenant_context

from conftest import PASSWORD
from insights import exports
from outcomes.models import Message
from tests.browser_support import committed


def action(**overrides: Any) -> dict[str, Any]:
    return {
        "action_id": "a-1",
        "conversation_id": "thread-1",
        "action_type": "send_email",
        "predicted_confidence": 0.7,
        "outcome_type": "email_engagement",
        **overrides,
    }


# --- exports: an empty filter is a 400 naming it -------------------------------------------


@pytest.mark.parametrize(
    "path,field",
    [
        ("exports/outcomes.csv?rep=", "rep"),
        ("exports/outcomes.csv?rep=%20", "rep"),
        ("exports/outcomes.jsonl?status=positive&rep=", "rep"),
        ("exports/feedback.csv?reviewer=", "reviewer"),
        ("exports/labels.csv?reviewer=", "reviewer"),
    ],
)
def test_an_empty_export_filter_is_a_400_naming_it(alpha, client, path, field) -> None:
    response = client.get(alpha.url(f"api/v1/{path}"), **alpha.bearer("manager"))
    assert response.status_code == 400, response.content[:200]
    assert response["Content-Type"] == "application/json"
    assert list(response.json()) == [field]


def test_a_filled_export_filter_still_exports(alpha, client) -> None:
    response = client.get(
        alpha.url("api/v1/exports/outcomes.csv?rep=alpha-rep"), **alpha.bearer("manager")
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"action_id,")


# --- the API answers every error in JSON ---------------------------------------------------


def test_a_body_over_the_limit_is_a_json_413_under_the_api(alpha, client, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"message_id": "m-1", "conversation_id": "t", "channel": "email", "body": "x" * 2000}
    # a bearer call (the agent's), and a page's call with its session
    for path, role in (("messages/", "agent"), ("feedback/", None)):
        caller = Client()
        headers = alpha.bearer(role) if role else {}
        if role is None:
            alpha.login(caller, "manager")
        response = caller.post(
            alpha.url(f"api/v1/{path}"),
            data=json.dumps(body),
            content_type="application/json",
            **headers,
        )
        assert response.status_code == 413, response.content[:200]
        assert response["Content-Type"] == "application/json"
        assert "too large" in response.json()["detail"]


# --- messages: a stored message_id is not moved; in_reply_to names an action ---------------


def test_a_message_id_sent_again_with_another_conversation_is_a_conflict(alpha, client) -> None:
    assert alpha.api_post(client, "outcomes/", action()).status_code == 201
    message = {"message_id": "in-1", "conversation_id": "thread-1", "channel": "email"}
    message |= {"body": "Yes please."}
    assert alpha.api_post(client, "messages/", message).status_code == 201
    moved = alpha.api_post(client, "messages/", {**message, "conversation_id": "thread-2"})
    assert moved.status_code == 409 and list(moved.json()) == ["message_id"], moved.json()
    assert "thread-1" in moved.json()["message_id"][0]
    again = alpha.api_post(client, "messages/", message)  # a true retry still answers 200
    assert again.status_code == 200 and again.json()["conversation_id"] == "thread-1"
    with tenant_context(alpha.tenant):
        stored = Message.objects.get(message_id="in-1")
        assert stored.conversation.external_id == "thread-1"


def test_in_reply_to_an_action_never_recorded_is_a_400(alpha, client) -> None:
    message = {"message_id": "in-1", "conversation_id": "thread-1", "channel": "email"}
    message |= {"body": "Yes please.", "in_reply_to": "no-such-action"}
    response = alpha.api_post(client, "messages/", message)
    assert response.status_code == 400 and list(response.json()) == ["in_reply_to"]
    with tenant_context(alpha.tenant):
        assert not Message.objects.exists()


# --- websockets: the page's origin, and sign-out ------------------------------------------


async def _open(url: str, cookie: str, origin: str) -> Any:
    headers = {"Origin": origin, "Cookie": cookie}
    return await websockets.connect(f"ws://{url}/t/alpha/ws/live/", additional_headers=headers)


def _status(url: str, cookie: str, origin: str) -> int:
    async def attempt() -> int:
        try:
            socket = await _open(url, cookie, origin)
        except websockets.InvalidStatus as exc:
            return exc.response.status_code
        await socket.close()
        return 101

    return asyncio.run(attempt())


def test_only_a_page_of_the_same_origin_opens_the_socket(alpha, live_server_url) -> None:
    cookie = f"sessionid_alpha={alpha.sessions['rep']}"
    port = int(live_server_url.split(":")[1])
    for foreign in (
        "http://127.0.0.1:8400",  # another program on this host
        f"http://127.0.0.1:{port + 1}",
        "https://127.0.0.1",  # another scheme and port
        f"https://127.0.0.1:{port}",  # an https page for a plain socket
        "null",
    ):
        assert _status(live_server_url, cookie, foreign) == 403, foreign
    assert _status(live_server_url, cookie, f"http://127.0.0.1:{port}") == 101


def _headers(host: str, origin: str, **more: str) -> dict[bytes, bytes]:
    extra = {name.encode(): value.encode() for name, value in more.items()}
    return {b"host": host.encode(), b"origin": origin.encode(), **extra}


def test_a_socket_on_its_own_port_opens_only_for_the_pages_port(settings) -> None:
    from learning.tenancy.websocket import _same_origin

    settings.WEBSOCKET_PORT, settings.WEB_PORT = 8001, 8000
    ws = {"scheme": "ws"}
    assert _same_origin(ws, _headers("127.0.0.1:8001", "http://127.0.0.1:8000"))
    assert not _same_origin(ws, _headers("127.0.0.1:8001", "http://127.0.0.1:8400"))
    assert not _same_origin(ws, _headers("127.0.0.1:8001", "http://127.0.0.1:8001"))
    assert not _same_origin(ws, _headers("127.0.0.1:8001", "https://127.0.0.1:8000"))
    assert not _same_origin(ws, _headers("127.0.0.1:8001", "http://localhost:8000"))
    # behind a TLS proxy (default ports), the scheme is the proxy's
    settings.WEBSOCKET_PORT = None
    assert _same_origin({"scheme": "wss"}, _headers("app.example", "https://app.example"))
    assert not _same_origin(ws, _headers("app.example", "https://app.example"))
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    proxied = _headers("app.example", "https://app.example", **{"x-forwarded-proto": "https"})
    assert _same_origin(ws, proxied)
    assert not _same_origin(ws, _headers("app.example", "http://app.example:8443"))


@pytest.fixture
def own_session(world: Any) -> Any:
    """A committed session of alpha-rep of its own (signing out ends it; the world's are
    shared); removed afterwards. Ask for it before `alpha`."""
    alpha = world["alpha"]
    engine = import_module(django_settings.SESSION_ENGINE)

    def create() -> str:
        user = alpha.users["rep"]
        session = engine.SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        return str(session.session_key)

    key = committed(alpha.tenant, create)
    yield key
    committed(alpha.tenant, lambda: engine.SessionStore(key).delete())


def test_signing_out_closes_the_sessions_sockets(own_session, alpha, live_server_url) -> None:
    cookie = f"sessionid_alpha={own_session}"
    other = f"sessionid_alpha={alpha.sessions['rep']}"  # the same person elsewhere
    origin = f"http://{live_server_url}"

    async def scenario() -> tuple[int | None, dict[str, Any]]:
        mine = await _open(live_server_url, cookie, origin)
        theirs = await _open(live_server_url, other, origin)
        await mine.recv(), await theirs.recv()  # hello
        browser = Client()
        browser.cookies["sessionid_alpha"] = own_session
        signed_out = await asyncio.to_thread(browser.post, alpha.url("logout/"))
        assert signed_out.status_code == 302
        try:
            await asyncio.wait_for(mine.recv(), 5)
            code = None
        except websockets.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
        await theirs.send(json.dumps({"event": "ping"}))
        still = json.loads(await asyncio.wait_for(theirs.recv(), 5))
        await theirs.close()
        return code, still

    code, still = asyncio.run(scenario())
    assert code == 4401
    assert still == {"event": "pong", "payload": {}}


# --- the admin's password change is limited as sign-ins are --------------------------------


@pytest.mark.parametrize("admin_path", ["admin/password_change/"])
def test_wrong_old_passwords_in_the_admin_are_limited(alpha, client, admin_path) -> None:
    alpha.login(client, "admin")
    url = alpha.url(admin_path)
    codes = [
        client.post(
            url,
            {
                "old_password": f"wrong-{i}",
                "new_password1": "a-new-long-passphrase-9",
                "new_password2": "a-new-long-passphrase-9",
            },
        ).status_code
        for i in range(15)
    ]
    assert codes[:10] == [200] * 10  # the form again, with its error
    assert set(codes[10:]) == {429}, codes
    right = client.post(
        url,
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-passphrase-9",
            "new_password2": "a-new-long-passphrase-9",
        },
    )
    assert right.status_code == 429 and right["Retry-After"]  # limited before any check
    with tenant_context(alpha.tenant):
        alpha.users["admin"].refresh_from_db()
        assert alpha.users["admin"].check_password(PASSWORD)


# --- mail in production, and private files -------------------------------------------------


def test_production_without_a_mail_backend_warns_and_writes_nothing(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "EMAIL_BACKEND")}
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "example.com",
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "LL_DATA_DIR": str(tmp_path),
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
    }
    code = (
        "import django; django.setup()\n"
        "from django.core import checks, mail\n"
        "print([m.id for m in checks.run_checks()])\n"
        "print(mail.send_mail('Weekly report', 'numbers', None, ['ceo@example.com']))\n"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    ids, sent = result.stdout.strip().splitlines()[-2:]
    assert "learning.W001" in ids and sent == "0", result.stdout
    assert "mail_not_sent" in result.stdout + result.stderr
    assert not (tmp_path / "mail").exists() and not list(tmp_path.rglob("*.eml"))


def _mode(path: Any) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_development_mail_is_kept_readable_by_its_owner_only(tmp_path, settings) -> None:
    settings.EMAIL_BACKEND = "config.mail.OneLineConsoleBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    previous = os.umask(0o022)
    try:
        mail.send_mail("Your summary", "numbers", None, ["rep@example.com"])
    finally:
        os.umask(previous)
    (saved,) = (tmp_path / "mail").glob("*.eml")
    assert _mode(saved) == 0o600 and _mode(tmp_path / "mail") == 0o700


def test_a_private_file_is_0600_even_when_it_existed_before(tmp_path) -> None:
    from learning.private_files import write_private

    path = tmp_path / "key"
    path.write_text("old")
    path.chmod(0o644)
    write_private(path, b"new")
    assert path.read_bytes() == b"new" and _mode(path) == 0o600


def test_the_demo_agent_key_file_is_private(alpha, tmp_path, settings) -> None:
    from demo.management.commands.seed_demo import Command

    settings.DATA_DIR = tmp_path
    with tenant_context(alpha.tenant):
        raw = Command()._demo_agent_key()
    (path,) = tmp_path.glob("demo-agent-key.*")
    assert path.read_text() == raw and _mode(path) == 0o600


# --- the CSV formula guard -----------------------------------------------------------------

DISGUISED = [
    " =1+1",
    "\u200b=HYPERLINK(1)",
    "\ufeff+1",
    "\u00a0\u3000-1",
    "\u2060@SUM(A1)",
    "\uff1d1+1",
    "\uff0b1",
    "\uff0d1",
    "\uff20SUM(A1)",
    " \t1",
]


@pytest.mark.parametrize("value", DISGUISED)
def test_a_formula_behind_spaces_or_in_full_width_is_guarded_in_python(value) -> None:
    assert exports._cell(value) == "'" + value


@pytest.mark.parametrize("value", ["plain", "a=b", " x", "\u200bok", "1-2"])
def test_text_that_is_no_formula_is_left_alone(value) -> None:
    assert exports._cell(value) == value


def test_a_formula_behind_spaces_or_in_full_width_is_guarded_in_the_export(alpha, client) -> None:
    for n, value in enumerate(DISGUISED):
        content = {"channel": "email", "subject": value, "body": f"body {n}"}
        created = alpha.api_post(client, "outcomes/", action(action_id=f"f-{n}", content=content))
        assert created.status_code == 201, created.json()
    response = client.get(alpha.url("api/v1/exports/outcomes.csv"), **alpha.bearer("executive"))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    stored = [row["subject"] for row in sorted(rows, key=lambda row: row["action_id"])]
    with tenant_context(alpha.tenant):
        subjects = [
            Message.objects.get(outcome__action_id=f"f-{n}").subject for n in range(len(DISGUISED))
        ]
    assert stored == ["'" + subject for subject in subjects]
    assert all(subject.lstrip(" \u00a0\u3000\u200b\ufeff\u2060\t") for subject in subjects)


# --- the admin's filter sidebar lists a manager's team only --------------------------------


@pytest.mark.parametrize("page", ["admin/outcomes/outcomerecord/", "admin/outcomes/conversation/"])
def test_a_managers_admin_filters_list_only_their_team(alpha, client, page) -> None:
    alpha.login(client, "manager")
    response = client.get(alpha.url(page))
    assert response.status_code == 200
    html = response.content.decode()
    for role in ("rep", "manager"):
        assert f"rep__id__exact={alpha.users[role].pk}" in html
    for role in ("executive", "admin"):
        assert f"rep__id__exact={alpha.users[role].pk}" not in html, role
    admin = Client()  # the whole tenant's reviewer sees everyone, as before
    alpha.login(admin, "admin")
    whole = admin.get(alpha.url(page)).content.decode()
    assert all(f"rep__id__exact={user.pk}" in whole for user in alpha.users.values())
