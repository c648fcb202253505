"""The local Slack (tests/slack_server.py) answers the official slack_sdk as Slack does."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from tests.slack_server import FakeSlack, running_slack, signed_request

TOKEN = "xoxb-test-token"
BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "Weekly review"}},
    {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": "*3 calls* to label, see <https://ll.example/q?a=1&b=2|the queue>",
        },
    },
    {"type": "divider"},
    {
        "type": "actions",
        "block_id": "review",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "text": {"type": "plain_text", "text": "Approve"},
                "value": "item-7",
                "style": "primary",
            },
            {
                "type": "button",
                "action_id": "reject",
                "text": {"type": "plain_text", "text": "Reject"},
                "value": "item-7",
                "style": "danger",
            },
            {
                "type": "button",
                "action_id": "open",
                "text": {"type": "plain_text", "text": "Open"},
                "url": "https://ll.example/q",
            },
        ],
    },
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "_Learning Loop_ `v1`"}]},
]


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with running_slack(users={"alice@example.com": "U0ALICE"}) as fake:
        yield fake


def client(fake: FakeSlack, token: str = TOKEN, **kwargs: Any) -> WebClient:
    return WebClient(token=token, base_url=fake.api_url, **kwargs)


def get(fake: FakeSlack, path: str, method: str = "GET") -> tuple[int, str]:
    url = urlsplit(fake.url)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=5)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def post_dm(fake: FakeSlack, blocks: list[dict[str, Any]] = BLOCKS) -> tuple[str, str]:
    web = client(fake)
    channel = web.conversations_open(users="U0ALICE")["channel"]["id"]
    posted = web.chat_postMessage(channel=channel, text="3 calls to label", blocks=blocks)
    return channel, posted["ts"]


def test_auth_test_answers_for_a_valid_token_and_refuses_others(slack: FakeSlack) -> None:
    assert slack.api_url.startswith("http://127.0.0.1:") and slack.api_url.endswith("/api/")
    auth = client(slack).auth_test()
    assert (auth["ok"], auth["team"], auth["team_id"], auth["user_id"]) == (
        True,
        "Acme Sales",
        "T0ACME",
        "U0BOT",
    )
    with pytest.raises(SlackApiError) as caught:
        client(slack, token="xoxb-wrong").auth_test()
    assert caught.value.response["error"] == "invalid_auth"
    assert slack.calls_to("auth.test")[1].token == "xoxb-wrong"


def test_users_are_looked_up_by_email(slack: FakeSlack) -> None:
    user = client(slack).users_lookupByEmail(email="Alice@Example.com")["user"]
    assert user["id"] == "U0ALICE" and user["profile"]["email"] == "alice@example.com"
    with pytest.raises(SlackApiError) as caught:
        client(slack).users_lookupByEmail(email="bob@example.com")
    assert caught.value.response["error"] == "users_not_found"


def test_a_dm_is_opened_and_a_message_with_blocks_arrives_decoded(slack: FakeSlack) -> None:
    web = client(slack)
    opened = web.conversations_open(users="U0ALICE")
    assert opened["channel"]["id"] == "D0ALICE"
    assert web.conversations_open(users="U0ALICE")["channel"]["id"] == "D0ALICE"
    with pytest.raises(SlackApiError) as caught:
        web.conversations_open(users="U0NOBODY")
    assert caught.value.response["error"] == "user_not_found"

    first = web.chat_postMessage(channel="D0ALICE", text="3 calls to label", blocks=BLOCKS)
    second = web.chat_postMessage(channel="C0REPORTS", text="weekly")
    assert first["channel"] == "D0ALICE" and float(second["ts"]) > float(first["ts"])
    assert first["message"]["blocks"][3]["block_id"] == "review"
    call = slack.calls_to("chat.postMessage")[0]
    assert call.args["blocks"] == BLOCKS and call.token == TOKEN

    # a form body with blocks as a JSON string (what api_call(params=...) sends)
    web.api_call("chat.postMessage", params={"channel": "D0ALICE", "blocks": json.dumps(BLOCKS)})
    assert slack.calls_to("chat.postMessage")[2].args["blocks"] == BLOCKS

    with pytest.raises(SlackApiError) as caught:
        web.chat_postMessage(channel="C0NEVER", text="hello")
    assert caught.value.response["error"] == "channel_not_found"


def test_chat_update_replaces_the_stored_message(slack: FakeSlack) -> None:
    channel, ts = post_dm(slack)
    updated = client(slack).chat_update(channel=channel, ts=ts, text="Done", blocks=[])
    assert updated["ts"] == ts
    assert slack.message(channel, ts)["text"] == "Done"
    assert slack.message(channel, ts)["blocks"] == []
    with pytest.raises(SlackApiError) as caught:
        client(slack).chat_update(channel=channel, ts="1.000001", text="x")
    assert caught.value.response["error"] == "message_not_found"


def test_rate_limiting_answers_429_with_retry_after(slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage")
    with pytest.raises(SlackApiError) as caught:
        post_dm(slack)
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "1"
    assert caught.value.response["error"] == "ratelimited"
    post_dm(slack)  # only the next call was limited

    # slack_sdk's own rate-limit handler waits Retry-After and tries again
    slack.fail_next("auth.test", retry_after=0)
    retrying = client(slack, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    assert retrying.auth_test()["ok"]
    assert [c.status for c in slack.calls_to("auth.test")] == [429, 200]


def test_other_failures_errors_500_and_a_closed_connection(slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError) as caught:
        post_dm(slack)
    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == "channel_not_found"

    slack.fail_next("*", status=500)
    with pytest.raises(SlackApiError) as caught:
        client(slack).auth_test()
    assert caught.value.response.status_code == 500

    slack.fail_next("auth.test", disconnect=True, times=2)  # slack_sdk retries once
    with pytest.raises(OSError):
        client(slack).auth_test()
    assert client(slack).auth_test()["ok"]


def test_a_button_click_is_signed_as_slack_signs(slack: FakeSlack) -> None:
    channel, ts = post_dm(slack)
    payload = slack.block_actions_payload(
        user_id="U0ALICE", channel=channel, ts=ts, action_id="approve"
    )
    assert payload["type"] == "block_actions"
    assert payload["user"] == {
        "id": "U0ALICE",
        "username": "alice",
        "name": "alice",
        "team_id": "T0ACME",
    }
    assert payload["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": channel,
        "is_ephemeral": False,
    }
    (action,) = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"]) == (
        "approve",
        "review",
        "item-7",
    )
    assert action["text"]["text"] == "Approve" and action["type"] == "button"
    assert payload["message"]["blocks"][3]["elements"][0]["action_id"] == "approve"
    with pytest.raises(LookupError):
        slack.block_actions_payload(user_id="U0ALICE", channel=channel, ts=ts, action_id="nope")

    body, headers = signed_request(payload, "s3cret")
    assert SignatureVerifier("s3cret").is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    old = signed_request(payload, "s3cret", timestamp=int(time.time()) - 600)
    assert not SignatureVerifier("s3cret").is_valid_request(*old)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert json.loads(parse_qs(body.decode())["payload"][0]) == payload


def test_the_response_url_replaces_the_message_it_was_minted_for(slack: FakeSlack) -> None:
    channel, ts = post_dm(slack)
    url = slack.block_actions_payload(
        user_id="U0ALICE", channel=channel, ts=ts, action_id="reject"
    )["response_url"]
    assert url.startswith(slack.url + "actions/")
    sent = WebhookClient(url).send(replace_original=True, text="Rejected by *alice*")
    assert sent.status_code == 200 and json.loads(sent.body) == {"ok": True}
    assert slack.message(channel, ts)["text"] == "Rejected by *alice*"
    assert slack.message(channel, ts)["blocks"] == []
    assert slack.responses[0].payload["replace_original"] is True
    assert (slack.responses[0].channel, slack.responses[0].ts) == (channel, ts)
    assert WebhookClient(slack.url + "actions/T0ACME/1/forged").send(text="x").status_code == 404


def test_the_page_shows_messages_escaped_with_their_buttons(slack: FakeSlack) -> None:
    evil = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "<script>alert(1)</script> & *hi*"}}
    ]
    post_dm(slack, blocks=evil)
    post_dm(slack)
    client(slack).chat_postMessage(channel="C0REPORTS", text="> quoted\n_plain_ text")
    status, page = get(slack, "/")
    assert status == 200
    assert (
        "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; <b>hi</b>" in page
    )
    assert '<span class="btn primary">Approve</span>' in page
    assert '<span class="btn danger">Reject</span>' in page
    assert '<a class="btn " href="https://ll.example/q">Open' in page
    assert '<a href="https://ll.example/q?a=1&amp;b=2">the queue</a>' in page
    assert "<b>3 calls</b>" in page and "<code>v1</code>" in page
    assert '<div class="quote">quoted</div>' in page and "<i>plain</i>" in page
    assert "Direct message with Alice (alice@example.com)" in page and "#sales-reports" in page
    assert page.index("quoted") < page.index("Approve") < page.index("alert(1)")  # newest first


def test_calls_are_listed_and_reset(slack: FakeSlack) -> None:
    client(slack).auth_test()
    status, body = get(slack, "/_calls")
    assert status == 200 and [c["method"] for c in json.loads(body)] == ["auth.test"]
    assert get(slack, "/_reset", method="POST")[0] == 200
    assert slack.calls == [] and slack.messages == {}
