"""Live sockets over a real ASGI server and the real Redis channel layer."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest
import websockets
from channels.layers import get_channel_layer
from django.utils import timezone
from django_tenants.utils import tenant_context

from insights import live


async def _connect(url: str, path: str, cookie: str = "", origin: str | None = None) -> Any:
    headers = {"Origin": origin or f"http://{url}"}
    if cookie:
        headers["Cookie"] = cookie
    return await websockets.connect(f"ws://{url}{path}", additional_headers=headers)


def _refused(url: str, path: str, cookie: str = "", origin: str | None = None) -> int:
    async def attempt() -> int:
        try:
            socket = await _connect(url, path, cookie, origin)
        except websockets.InvalidStatus as exc:
            return exc.response.status_code
        await socket.close()
        return 101

    return asyncio.run(attempt())


def test_signed_in_user_gets_the_tenant_feed(alpha, live_server_url) -> None:
    async def scenario() -> dict:
        cookie = f"sessionid_alpha={alpha.sessions['manager']}"
        async with await _connect(live_server_url, "/t/alpha/ws/live/", cookie) as socket:
            return json.loads(await asyncio.wait_for(socket.recv(), 5))

    assert asyncio.run(scenario()) == {
        "event": "hello",
        "payload": {"tenant": "alpha", "username": "alpha-manager", "role": "manager"},
    }


@pytest.mark.parametrize(
    "path,cookie_of",
    [
        ("/t/alpha/ws/live/", None),  # no session
        ("/t/beta/ws/live/", "alpha"),  # alpha's session presented to beta
        ("/t/nobody/ws/live/", "alpha"),  # no such tenant
        ("/ws/live/", "alpha"),  # outside any tenant
    ],
)
def test_sockets_without_a_session_of_that_tenant_are_refused(
    alpha, beta, live_server_url, path, cookie_of
) -> None:
    cookie = ""
    if cookie_of:
        session = alpha.sessions["rep"]
        cookie = f"sessionid_alpha={session}; sessionid_beta={session}"
    assert _refused(live_server_url, path, cookie) == 403


def test_socket_from_a_foreign_origin_is_refused(alpha, live_server_url) -> None:
    cookie = f"sessionid_alpha={alpha.sessions['rep']}"
    assert _refused(live_server_url, "/t/alpha/ws/live/", cookie, "http://evil.example") == 403


def test_events_reach_only_the_own_tenant(alpha, beta, live_server_url) -> None:
    async def scenario() -> tuple[dict, str]:
        a = await _connect(
            live_server_url, "/t/alpha/ws/live/", f"sessionid_alpha={alpha.sessions['executive']}"
        )
        b = await _connect(
            live_server_url, "/t/beta/ws/live/", f"sessionid_beta={beta.sessions['executive']}"
        )
        await a.recv(), await b.recv()  # hello
        layer = get_channel_layer()
        await layer.group_send(
            live.tenant_group(alpha.tenant.schema_name),
            {"type": "live.event", "event": "outcome.resolved", "payload": {"id": 1}},
        )
        got = json.loads(await asyncio.wait_for(a.recv(), 5))
        try:
            leaked = await asyncio.wait_for(b.recv(), 1)
        except TimeoutError:
            leaked = "nothing"
        await a.close(), await b.close()
        return got, leaked

    got, leaked = asyncio.run(scenario())
    assert got == {"event": "outcome.resolved", "payload": {"id": 1}}
    assert leaked == "nothing"


def test_publish_waits_for_commit(alpha, live_server_url, django_capture_on_commit_callbacks):
    ready, received = threading.Event(), []

    async def listen() -> None:
        async with await _connect(
            live_server_url, "/t/alpha/ws/live/", f"sessionid_alpha={alpha.sessions['executive']}"
        ) as socket:
            await socket.recv()  # hello
            ready.set()
            while True:
                try:
                    received.append(json.loads(await asyncio.wait_for(socket.recv(), 5)))
                except TimeoutError:
                    return

    listener = threading.Thread(target=asyncio.run, args=(listen(),))
    listener.start()
    assert ready.wait(10)
    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        tenant_context(alpha.tenant),
    ):
        live.publish_to_managers("feedback.created", {"rating": 5})
    time.sleep(0.5)
    assert received == []  # nothing is sent before the commit
    assert len(callbacks) == 1
    callbacks[0]()  # the commit
    listener.join(15)
    assert received == [{"event": "feedback.created", "payload": {"rating": 5}}]


def test_group_names_start_with_the_schema() -> None:
    assert live.tenant_group("t_alpha") == "live.t_alpha.tenant"
    assert live.managers_group("t_alpha") == "live.t_alpha.managers"
    assert live.team_group("t_alpha", 3) == "live.t_alpha.team.3"
    assert live.user_group("t_alpha", 7) == "live.t_alpha.user.7"


def test_a_malformed_unrelated_cookie_does_not_drop_the_session(alpha, live_server_url) -> None:
    async def scenario() -> dict:
        cookie = f'pref={{"a":1}}; sessionid_alpha={alpha.sessions["rep"]}'
        async with await _connect(live_server_url, "/t/alpha/ws/live/", cookie) as socket:
            return json.loads(await asyncio.wait_for(socket.recv(), 5))

    assert asyncio.run(scenario())["payload"]["username"] == "alpha-rep"


def test_nul_in_the_websocket_path_is_refused(alpha, live_server_url) -> None:
    assert _refused(live_server_url, "/t/%00/ws/live/") == 403


@pytest.mark.parametrize(
    "path", ["/t/alpha/ws/anything", "/t/alpha/ws/live/extra/", "/t/alpha/ws/"]
)
def test_unknown_socket_paths_are_refused_quietly(alpha, live_server_url, caplog, path) -> None:
    assert _refused(live_server_url, path) == 403
    cookie = f"sessionid_alpha={alpha.sessions['rep']}"
    assert _refused(live_server_url, path, cookie) == 403
    assert "Traceback" not in caplog.text and "No route found" not in caplog.text


def test_a_page_on_another_host_cannot_open_the_socket(alpha, live_server_url) -> None:
    """Two tenants' own host names under one domain are one site to a browser, which then
    sends the session cookie along: only a page on the socket's own host may open it."""
    cookie = f"sessionid_alpha={alpha.sessions['rep']}"
    port = live_server_url.split(":")[1]
    assert _refused(live_server_url, "/t/alpha/ws/live/", cookie, f"http://localhost:{port}") == 403
    assert _refused(live_server_url, "/t/alpha/ws/live/", cookie) == 101


# --- who hears what: rep = own, manager = team, executive and admin = tenant ----------------

TEAMS = {  # username: (role, manager)
    "ws-manager2": ("manager", None),
    "ws-rep2": ("rep", "ws-manager2"),
    "ws-loner": ("rep", None),
}


@pytest.fixture
def teams(world):
    """Beside the world's alpha-rep (team of alpha-manager): a second team (ws-manager2
    with ws-rep2) and a rep with no team, committed with their sessions so the live server
    sees them; removed afterwards. Ask for it before `alpha`, so that it is removed after
    the test's own transaction has rolled back."""
    alpha = world["alpha"]
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from learning import services as learning_services
    from learning.models import User
    from tests.browser_support import committed

    def create() -> dict[str, str]:
        engine = import_module(settings.SESSION_ENGINE)
        sessions = {}
        for username, (role, manager) in TEAMS.items():
            user, _ = learning_services.create_user(
                username=username, role=role, password="x" * 16, manager_username=manager
            )
            session = engine.SessionStore()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.create()
            sessions[username] = session.session_key
        return sessions

    sessions = committed(alpha.tenant, create)
    for role in ("rep", "manager", "executive", "admin"):
        sessions[f"alpha-{role}"] = alpha.sessions[role]
    yield sessions

    def remove() -> None:
        User.objects.filter(username__in=list(TEAMS)).delete()

    committed(alpha.tenant, remove)


def _listen_all(url: str, sessions: dict[str, str], act) -> dict[str, list[dict]]:
    """Open a socket per person, run `act()` once all are connected, and collect what each
    receives in the next two seconds."""
    received: dict[str, list[dict]] = {name: [] for name in sessions}
    ready = threading.Event()

    async def listen() -> None:
        sockets = {
            name: await _connect(url, "/t/alpha/ws/live/", f"sessionid_alpha={session}")
            for name, session in sessions.items()
        }
        for socket in sockets.values():
            await socket.recv()  # hello
        ready.set()

        async def drain(name: str, socket: Any) -> None:
            while True:
                try:
                    received[name].append(json.loads(await asyncio.wait_for(socket.recv(), 2)))
                except TimeoutError:
                    return

        await asyncio.gather(*(drain(name, socket) for name, socket in sockets.items()))
        for socket in sockets.values():
            await socket.close()

    listener = threading.Thread(target=asyncio.run, args=(listen(),))
    listener.start()
    assert ready.wait(15)
    act()
    listener.join(20)
    return received


def test_each_person_hears_only_about_what_they_may_see(
    teams, alpha, live_server_url, django_capture_on_commit_callbacks
) -> None:
    from feedback import events as feedback_events
    from feedback import services as feedback_services
    from learning.models import User
    from outcomes import services as outcome_services
    from outcomes.models import OutcomeRecord

    owners = {"alpha-rep": "c-1", "ws-rep2": "c-2", "ws-loner": "c-3", None: "c-4"}

    def act() -> None:
        with tenant_context(alpha.tenant):
            with django_capture_on_commit_callbacks(execute=True):
                recorded = outcome_services.record_outcomes(
                    items=[
                        outcome_services.OutcomeInput(
                            action_id=f"ws-{conversation}",
                            conversation_id=conversation,
                            action_type="send_email",
                            predicted_confidence=0.5,
                            outcome_type="email_engagement",
                            occurred_at=timezone.now(),
                            rep=rep,
                        )
                        for rep, conversation in owners.items()
                    ]
                )
                outcome_services.transition_outcomes(
                    ids=[r.id for r in recorded],
                    status="positive",
                    score=1.0,
                    source="event",
                    reason="test",
                )
            with django_capture_on_commit_callbacks(execute=True):
                feedback_services.record_feedback(
                    reviewer=User.objects.get(username="alpha-manager"),
                    target_type="conversation",
                    target_id="c-1",
                    conversation_id="c-1",
                    source="dashboard",
                    rating=4,
                )
            with django_capture_on_commit_callbacks(execute=True):
                live.publish_to_managers("alert.opened", {"id": 1})
            with django_capture_on_commit_callbacks(execute=True):
                feedback_events.VERDICT_NEEDED.emit(
                    feedback_events.VerdictNeeded(
                        recipient_id=User.objects.get(username="alpha-rep").pk,
                        action_id="ws-c-1",
                        title="Escalate",
                        why="An escalation the agent made: critical",
                    )
                )

    received = _listen_all(live_server_url, teams, act)
    with tenant_context(alpha.tenant):
        ids = dict(
            OutcomeRecord.objects.filter(action_id__startswith="ws-").values_list(
                "conversation__external_id", "id"
            )
        )

    def heard(name: str) -> dict[str, list]:
        events: dict[str, list] = {}
        for message in received[name]:
            payload = message["payload"]
            detail = sorted(payload["ids"]) if "ids" in payload else payload.get("target_id", 1)
            events.setdefault(message["event"], []).append(detail)
        return events

    resolved = {name: heard(name).get("outcomes.resolved") for name in teams}
    assert resolved == {
        "alpha-rep": [[ids["c-1"]]],
        "ws-rep2": [[ids["c-2"]]],
        "ws-loner": [[ids["c-3"]]],
        "alpha-manager": [[ids["c-1"]]],  # their team
        "ws-manager2": [[ids["c-2"]]],
        "alpha-executive": [sorted(ids.values())],  # the whole tenant
        "alpha-admin": [sorted(ids.values())],
    }
    feedback = {name for name in teams if "feedback.recorded" in heard(name)}
    assert feedback == {"alpha-rep", "alpha-manager", "alpha-executive", "alpha-admin"}
    prompted = {name for name in teams if "verdict.needed" in heard(name)}
    assert prompted == {"alpha-rep"}  # a prompt is for its person only
    alerts = {name for name in teams if "alert.opened" in heard(name)}
    assert alerts == {"alpha-manager", "ws-manager2", "alpha-executive", "alpha-admin"}
    # nobody hears anything twice
    assert all(len(received[name]) == sum(map(len, heard(name).values())) for name in teams)
    assert all(all(len(v) == 1 for v in heard(name).values()) for name in teams), received


def test_a_socket_never_reaches_another_tenant_on_a_tenants_own_host(
    alpha, beta, live_server_url
) -> None:
    from learning.tenancy.models import Domain
    from tests.browser_support import committed

    committed(beta.tenant, lambda: Domain.objects.create(domain="localhost", tenant=beta.tenant))
    try:
        port = live_server_url.split(":")[1]
        on_beta_host = f"localhost:{port}"
        cookie = f"sessionid_alpha={alpha.sessions['rep']}"
        assert _refused(on_beta_host, "/t/alpha/ws/live/", cookie) == 403
        beta_cookie = f"sessionid_beta={beta.sessions['rep']}"
        assert _refused(on_beta_host, "/ws/live/", beta_cookie) == 101
    finally:
        committed(beta.tenant, lambda: Domain.objects.filter(domain="localhost").delete())


def test_a_socket_idle_for_15_seconds_still_hears_the_next_event(alpha, live_server_url) -> None:
    """redis-py's 5 s socket timeout equals channels_redis's blocking wait: an idle
    consumer's read timed out and the socket closed (the page reconnected and missed what
    was sent meanwhile). The channel layer reads with a longer timeout."""

    async def scenario() -> dict:
        cookie = f"sessionid_alpha={alpha.sessions['executive']}"
        async with await _connect(live_server_url, "/t/alpha/ws/live/", cookie) as socket:
            await socket.recv()  # hello
            await asyncio.sleep(15)
            await get_channel_layer().group_send(
                live.tenant_group(alpha.tenant.schema_name),
                {"type": "live.event", "event": "outcomes.resolved", "payload": {"count": 1}},
            )
            return json.loads(await asyncio.wait_for(socket.recv(), 5))

    assert asyncio.run(scenario()) == {"event": "outcomes.resolved", "payload": {"count": 1}}
