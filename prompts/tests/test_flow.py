"""The prompt flow end to end, on real services: the agent records an escalation through
the API of the served application (uvicorn), a Celery worker on the real broker sends one
Slack direct message through slack_sdk to a Slack-compatible server on loopback
(tests/slack_server.py), and a signed button click records one verdict in the name of
the person prompted; replays, second clicks, someone else's click and a bad signature
change nothing. A routine action prompts nobody."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.management import call_command

from feedback.models import FeedbackEntry
from learning.models import User
from outcomes.models import Conversation, OutcomeRecord
from prompts.models import Preference, Prompt, SlackConnection
from tests.browser_support import committed
from tests.slack_server import running_slack, signed_request

pytestmark = pytest.mark.django_db
SECRET = "prompt-flow-secret"
REP_EMAIL = "rita.rep@example.com"


def http(base: str, path: str, *, body: bytes | None = None, headers: dict[str, str]) -> Any:
    request = urllib.request.Request(base + path, data=body, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def wait_for(check: Any, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    return check()


@pytest.fixture
def slack(world, settings) -> Iterator[Any]:
    tenant = world["alpha"].tenant
    with running_slack(tokens={"xoxb-flow"}, users={REP_EMAIL: "U0RITA"}) as fake:
        settings.SLACK_API_URL = fake.api_url
        settings.SLACK_SIGNING_SECRET = SECRET
        settings.LL_BASE_URL = "http://learning-loop.test"

        def connect() -> None:
            User.objects.filter(username="alpha-rep").update(email=REP_EMAIL)
            call_command("configure_slack", "alpha", "--bot-token", "xoxb-flow", "--json")

        committed(tenant, connect)
        try:
            yield fake
        finally:

            def cleanup() -> None:
                ids = list(
                    OutcomeRecord.objects.filter(action_id__startswith="flow-").values_list(
                        "pk", flat=True
                    )
                )
                Prompt.objects.filter(outcome_id__in=ids).delete()
                FeedbackEntry.objects.filter(target_id__startswith="flow-").delete()
                OutcomeRecord.objects.filter(pk__in=ids).delete()
                Conversation.objects.filter(external_id__startswith="flow-").delete()
                SlackConnection.objects.all().delete()
                Preference.objects.all().delete()
                User.objects.filter(username="alpha-rep").update(email="")

            committed(tenant, cleanup)


def action(action_id: str, outcome_type: str, action_type: str) -> bytes:
    return json.dumps(
        {
            "action_id": action_id,
            "conversation_id": "flow-acme-renewal",
            "action_type": action_type,
            "predicted_confidence": 0.72,
            "outcome_type": outcome_type,
            "occurred_at": datetime.now(UTC).isoformat(),
            "rep": "alpha-rep",
            "content": {"channel": "email", "body": "Looping in Dana, our VP, on pricing."},
        }
    ).encode()


def test_an_escalation_prompts_its_rep_in_slack_and_one_click_records_once(
    world, slack, celery_worker, live_server_url
) -> None:
    alpha = world["alpha"]
    base = f"http://{live_server_url}/t/alpha/"
    agent = {"Authorization": f"Bearer {alpha.agent_key}", "Content-Type": "application/json"}

    started = time.monotonic()
    status, _ = http(
        base,
        "api/v1/outcomes/",
        body=action("flow-esc", "escalation_result", "escalate"),
        headers=agent,
    )
    assert status == 201
    posts = wait_for(lambda: slack.calls_to("chat.postMessage"))
    assert time.monotonic() - started < 20
    assert len(posts) == 1
    post = posts[0]
    assert post.args["channel"] == "D0RITA"  # the rep's direct message
    text = json.dumps(post.args["blocks"])
    assert "Looping in Dana, our VP, on pricing." in text and "72%" in text
    buttons = [
        element
        for block in post.args["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if "value" in element
    ]
    assert [b["text"]["text"] for b in buttons] == ["Good", "Neutral", "Bad"]
    review = next(
        e["url"]
        for b in post.args["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if "url" in e
    )
    assert review.startswith("http://learning-loop.test/t/alpha/feedback/review/action/")

    # a routine email prompts nobody
    status, _ = http(
        base,
        "api/v1/outcomes/",
        body=action("flow-mail", "email_engagement", "send_email"),
        headers=agent,
    )
    assert status == 201
    time.sleep(3)
    assert len(slack.calls_to("chat.postMessage")) == 1

    ts = slack.calls_to("chat.postMessage")[0]
    message = slack.messages
    channel, stamp = next(iter(message))

    def click(user: str, action_id: str, secret: str = SECRET) -> tuple[int, Any]:
        payload = slack.block_actions_payload(
            user_id=user, channel=channel, ts=stamp, action_id=action_id
        )
        body, headers = signed_request(payload, secret)
        return http(base, "integrations/slack/", body=body, headers=headers)

    def verdicts() -> list[tuple[str, float, str]]:
        status, page = http(
            base,
            "api/v1/feedback/?target_id=flow-esc",
            headers={"Authorization": f"Bearer {alpha.tokens['manager']}"},
        )
        assert status == 200
        return [(e["reviewer"], e["normalized_rating"], e["via"]) for e in page["results"]]

    assert click("U0RITA", "verdict_1", secret="wrong")[0] == 401
    status, answer = click("U0MARIA", "verdict_1")  # someone else's click
    assert status == 200 and "for" in answer["text"] and verdicts() == []

    # (a second device still shows the buttons: its click arrives after the first)
    late_body, late_headers = signed_request(
        slack.block_actions_payload(
            user_id="U0RITA", channel=channel, ts=stamp, action_id="verdict_-1"
        ),
        SECRET,
    )
    body, headers = signed_request(
        slack.block_actions_payload(
            user_id="U0RITA", channel=channel, ts=stamp, action_id="verdict_1"
        ),
        SECRET,
    )
    status, answer = http(base, "integrations/slack/", body=body, headers=headers)
    assert status == 200 and answer["text"] == "Recorded: Good."
    assert verdicts() == [("alpha-rep", 1.0, "slack")]
    # the message now says what was recorded (its response_url, from a task)
    updated = wait_for(lambda: slack.responses)
    assert "Recorded: *Good*" in json.dumps(updated[0].payload)
    assert not [b for b in slack.message(channel, stamp)["blocks"] if b["type"] == "actions"]

    # the very same request again, and a second click on another button: nothing changes
    status, answer = http(base, "integrations/slack/", body=body, headers=headers)
    assert status == 200 and answer["text"].startswith("Already recorded: Good")
    status, answer = http(base, "integrations/slack/", body=late_body, headers=late_headers)
    assert status == 200 and answer["text"].startswith("Already recorded: Good")
    assert verdicts() == [("alpha-rep", 1.0, "slack")]

    def prompt() -> tuple[str, bool, str]:
        p = Prompt.objects.get(outcome__action_id="flow-esc")
        return p.status, p.answered_at is not None, p.answered_via

    assert committed(alpha.tenant, prompt) == ("sent", True, "slack")
    assert (
        committed(
            alpha.tenant, lambda: Prompt.objects.filter(outcome__action_id="flow-mail").count()
        )
        == 0
    )
    assert ts.token == "xoxb-flow"
