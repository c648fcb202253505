"""One-click links, Slack buttons and the manager's feedback page (the review flow:
test_review_flow.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from unittest import mock
from urllib.parse import urlencode, urlsplit

import pytest
from django.core import signing
from django.db import models
from django_tenants.utils import tenant_context

from feedback import links
from feedback.models import FeedbackEntry, FeedbackRevision, UsedLink
from feedback.tests.conftest import post_json

TARGET = {"target_type": "message", "target_id": "m-1", "conversation_id": "c-rep"}


def make_links(world, client, reviewer="alpha-rep", role="agent"):
    response = post_json(
        client,
        world.url("api/v1/feedback/links/"),
        {**TARGET, "reviewer": reviewer},
        **world.bearer(role),
    )
    assert response.status_code == 200, response.content
    return {k: urlsplit(v).path for k, v in response.json()["links"].items()}


def entries(world):
    with tenant_context(world.tenant):
        return list(FeedbackEntry.objects.values_list("reviewer__username", "rating", "comment"))


def test_a_link_asks_then_records_once_then_takes_a_comment(convos, client) -> None:
    good = make_links(convos, client)["1"]
    page = client.get(good)  # what a link scanner or a preview does: nothing recorded
    assert page.status_code == 200 and "Record my verdict" in page.content.decode()
    assert entries(convos) == []
    done = client.post(good)
    assert "Thanks, recorded" in done.content.decode()
    assert entries(convos) == [("alpha-rep", 1.0, "")]
    again = client.post(good)  # replayed: recorded once
    assert "Already recorded" in again.content.decode()
    client.post(good, {"comment": "spot on"})
    assert entries(convos) == [("alpha-rep", 1.0, "spot on")]
    with tenant_context(convos.tenant):
        assert UsedLink.objects.count() == 1 and FeedbackRevision.objects.count() == 1


def test_bad_links_record_nothing(convos, beta, client) -> None:
    good = make_links(convos, client)["-1"]
    token = good.rstrip("/").rsplit("/", 1)[-1]
    tampered = good.replace(token, token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb"))
    other_tenant = beta.url(f"f/{token}/")
    past = time.time() - 8 * 86400
    with (
        mock.patch("django.core.signing.time.time", return_value=past),
        tenant_context(convos.tenant),
    ):
        old = links.make_token(
            reviewer_id=convos.users["rep"].pk, rating=1, minted_by="agent:test", **TARGET
        )
    expired = convos.url(f"f/{old}/")
    for url, message in (
        (tampered, "not valid"),
        (other_tenant, "not valid"),
        (expired, "expired"),
    ):
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 400 and message in response.content.decode(), url
    assert entries(convos) == []


def test_who_may_make_links(convos, client) -> None:
    make_links(convos, client, "alpha-rep", role="rep")  # for yourself
    make_links(convos, client, "alpha-executive", role="agent")  # the agent, for anyone
    mine = post_json(client, convos.url("api/v1/feedback/links/"), TARGET, **convos.bearer("rep"))
    assert mine.status_code == 200  # a person's links are for themselves by default
    for role, reviewer in (("manager", "alpha-rep"), ("rep", "alpha-executive")):
        response = post_json(
            client,
            convos.url("api/v1/feedback/links/"),
            {**TARGET, "reviewer": reviewer},
            **convos.bearer(role),
        )
        assert response.status_code == 403, (role, reviewer)
        assert "only for yourself" in response.json()["detail"]
    nameless = post_json(
        client, convos.url("api/v1/feedback/links/"), TARGET, **convos.bearer("agent")
    )
    assert nameless.status_code == 400 and "reviewer" in nameless.json()


def test_a_link_records_that_it_was_a_link_and_who_made_it(convos, client) -> None:
    client.post(make_links(convos, client)["1"])
    with tenant_context(convos.tenant):
        entry = FeedbackEntry.objects.values_list("reviewer__username", "via", "minted_by").get()
    assert entry == (
        "alpha-rep",
        "link",
        "agent:alpha-agent",
    )


@pytest.mark.parametrize("signed_in_as", ["manager", "executive", "admin"])
def test_nobody_signed_in_as_someone_else_can_use_a_link(convos, client, signed_in_as) -> None:
    good = make_links(convos, client, "alpha-rep")["1"]
    convos.login(client, signed_in_as)
    for method in (client.get, client.post):
        response = method(good)
        assert response.status_code == 403
        assert "you are signed in as" in response.content.decode()
    assert entries(convos) == []
    convos.login(client, "rep")  # the reviewer themselves
    assert client.post(good).status_code == 200
    assert entries(convos) == [("alpha-rep", 1.0, "")]


def test_no_signed_in_person_produces_a_verdict_in_another_name(convos, client) -> None:
    """Every way a person can rate, tried by every role against alpha-rep's message:
    each entry that exists afterwards names its own author."""
    for role in ("rep", "manager", "executive", "admin"):
        person = convos.users[role]
        body = {**TARGET, "source": "inline", "rating": 1}
        post_json(client, convos.url("api/v1/feedback/"), body, **convos.bearer(role))
        post_json(  # links for somebody else: refused for everyone but themselves
            client,
            convos.url("api/v1/feedback/links/"),
            {**TARGET, "reviewer": "alpha-rep" if role != "rep" else "alpha-manager"},
            **convos.bearer(role),
        )
        convos.login(client, role)
        client.post(
            convos.url("feedback/review/recent/1/"),
            {"action_id": "m-1", "stars": "4", "correction": "Hi Dana, shorter."},
        )
        for rating in ("1", "-1"):  # the agent's link for someone else, clicked
            other = "alpha-executive" if role != "executive" else "alpha-manager"
            client.post(make_links(convos, client, other)[rating])
        client.logout()
        with tenant_context(convos.tenant):
            authors = set(
                FeedbackEntry.objects.filter(reviewer_role=role).values_list(
                    "reviewer__username", flat=True
                )
            )
            assert authors <= {person.username}, role
    with tenant_context(convos.tenant):
        assert not FeedbackEntry.objects.exclude(reviewer__role=models.F("reviewer_role")).exists()


def slack_post(client, world, body: bytes, *, secret="slack-secret", at=None, signature=None):
    timestamp = str(int(at if at is not None else time.time()))
    expected = (
        "v0="
        + hmac.new(
            secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256
        ).hexdigest()
    )
    return client.post(
        world.url("integrations/slack/"),
        data=body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=timestamp,
        HTTP_X_SLACK_SIGNATURE=signature or expected,
    )


@pytest.fixture
def slack_secret(settings):
    settings.SLACK_SIGNING_SECRET = "slack-secret"


def test_slack_buttons(convos, client, slack_secret) -> None:
    token = make_links(convos, client)["0"].rstrip("/").rsplit("/", 1)[-1]
    payload = {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"value": token}]}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    assert slack_post(client, convos, body, secret="wrong").status_code == 401
    assert slack_post(client, convos, body, at=time.time() - 600).status_code == 401  # stale
    assert slack_post(client, convos, body, signature="v0=deadbeef").status_code == 401
    assert entries(convos) == []
    response = slack_post(client, convos, body)
    assert response.status_code == 200 and "neutral" in response.json()["text"]
    assert slack_post(client, convos, body).status_code == 200  # clicked twice: once
    assert entries(convos) == [("alpha-rep", 0.0, "")]
    junk = urlencode({"payload": "{not json"}).encode()
    assert slack_post(client, convos, junk).status_code == 400


def test_slack_refuses_everything_without_a_secret(convos, client, settings) -> None:
    settings.SLACK_SIGNING_SECRET = ""
    assert slack_post(client, convos, b"payload=%7B%7D", secret="").status_code == 401


def test_manager_feedback_page(convos, client) -> None:
    post_json(
        client,
        convos.url("api/v1/feedback/"),
        {**TARGET, "source": "dashboard", "rating": 4},
        **convos.bearer("rep"),
    )
    convos.login(client, "rep")
    assert client.get(convos.url("feedback/team/")).status_code == 403
    convos.login(client, "manager")
    page = client.get(convos.url("feedback/team/")).content.decode()
    assert "Feedback fatigue" in page and "alpha-rep" in page and "outsider" not in page
    assert 'id="feedback-trend-data"' in page


def test_admin_search_and_conversation_inline(convos, client) -> None:
    post_json(
        client,
        convos.url("api/v1/feedback/"),
        {**TARGET, "source": "inline", "rating": 1, "comment": "nice"},
        **convos.bearer("rep"),
    )
    convos.login(client, "manager")
    found = client.get(convos.url("admin/feedback/feedbackentry/?q=c-rep")).content.decode()
    assert "m-1" in found
    with tenant_context(convos.tenant):
        from outcomes.models import Conversation

        pk = Conversation.objects.get(external_id="c-rep").pk
    page = client.get(convos.url(f"admin/outcomes/conversation/{pk}/change/")).content.decode()
    assert "Feedback entries" in page and "nice" in page
    assert "d-1" in page  # the outcomes inline shows the conversation's actions too


def test_signing_salt_is_ours() -> None:
    with pytest.raises(signing.BadSignature):
        signing.loads(signing.dumps({"s": "t_alpha"}), salt=links.SALT)


def test_slack_payload_nested_too_deeply_is_a_400(convos, client, slack_secret) -> None:
    body = urlencode({"payload": "[" * 100_000}).encode()
    response = slack_post(client, convos, body)
    assert response.status_code == 400 and response.json() == {"error": "not a feedback button"}
