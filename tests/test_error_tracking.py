"""The error-tracking hook (config/error_tracking.py): off without SENTRY_DSN; with one, an
exception in a view reaches the server, and no prospect's words go with it."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import brotli
import pytest
import sentry_sdk
from django.db import IntegrityError
from django.test import Client

from config import error_tracking
from outcomes import ingest

SECRET_BODY = "We can stretch to 41,500 if Dana signs before Friday"
SECRET_SUBJECT = "Confidential: Dana's budget"


class _Catcher(BaseHTTPRequestHandler):
    received: list[bytes]

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        elif self.headers.get("Content-Encoding") == "br":
            raw = brotli.decompress(raw)
        self.server.received.append(raw)  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def sentry_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Catcher)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        sentry_sdk.get_client().close(timeout=2)
        sentry_sdk.get_global_scope().set_client(None)  # inactive for the rest of the suite
        server.shutdown()
        server.server_close()


def events(raw_envelopes: list[bytes]) -> list[dict[str, Any]]:
    """The event items of Sentry envelopes (a JSON line of headers, then item header/payload
    pairs)."""
    found = []
    for raw in raw_envelopes:
        lines = raw.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                found.append(json.loads(payload))
    return found


def test_without_a_dsn_nothing_is_started() -> None:
    assert (
        error_tracking.setup(dsn=None, environment="test", release=None, traces_sample_rate=0.0)
        is False
    )
    assert (
        error_tracking.setup(dsn="", environment="test", release=None, traces_sample_rate=0.0)
        is False
    )
    client = sentry_sdk.get_client()
    assert not client.is_active() and client.transport is None


def test_an_exception_in_a_view_is_reported_without_the_prospects_words(
    alpha, sentry_server, monkeypatch
) -> None:
    host, port = sentry_server.server_address[:2]
    assert error_tracking.setup(
        dsn=f"http://publickey@{host}:{port}/1",
        environment="test",
        release="ll@1.2.3",
        traces_sample_rate=0.0,
    )
    assert sentry_sdk.get_client().is_active()

    def failing_insert(rows: list[Any]) -> None:
        # PostgreSQL's own words for a failed constraint quote the whole row.
        raise IntegrityError(
            'null value in column "channel" violates not-null constraint\n'
            f"DETAIL:  Failing row contains (7, agent, null, {SECRET_SUBJECT}, {SECRET_BODY})."
        )

    monkeypatch.setattr(ingest, "_insert_contents", failing_insert)
    client = Client(raise_request_exception=False)
    response = alpha.api_post(
        client,
        "outcomes/",
        {
            "action_id": "sentry-1",
            "conversation_id": "sentry-conv",
            "action_type": "send_email",
            "predicted_confidence": 0.7,
            "outcome_type": "email_engagement",
            "content": {"channel": "email", "subject": SECRET_SUBJECT, "body": SECRET_BODY},
        },
    )
    assert response.status_code == 500
    sentry_sdk.flush(timeout=5)

    raw = b"".join(sentry_server.received)  # type: ignore[attr-defined]
    found = events(sentry_server.received)  # type: ignore[attr-defined]
    [event] = found  # once: the request log's line for it is not a second event
    [exception] = event["exception"]["values"]
    assert exception["type"] == "IntegrityError"
    assert exception["value"] == 'null value in column "channel" violates not-null constraint'
    assert (event["environment"], event["release"]) == ("test", "ll@1.2.3")
    # The body is never read for the event (max_request_body_size="never"): nothing of it.
    assert event["request"]["data"] == ""
    assert "user" not in event or not event["user"].get("ip_address")
    assert all("vars" not in frame for frame in exception["stacktrace"]["frames"])
    for words in (SECRET_BODY, SECRET_SUBJECT, "41,500", "Dana"):
        assert words.encode() not in raw, words
    # the agent's key (a header) is not sent either
    assert alpha.agent_key.encode() not in raw


def test_keys_that_hold_prospects_words_are_scrubbed_wherever_they_are() -> None:
    event = {
        "request": {"data": {"body": SECRET_BODY}, "query_string": "q=Dana", "cookies": "s=1"},
        "logentry": {"message": f"failed\nDETAIL: Key (body)=({SECRET_BODY})", "params": ["x"]},
        "breadcrumbs": {
            "values": [{"category": "query", "message": "INSERT …", "data": {"p": SECRET_BODY}}]
        },
        "exception": {
            "values": [
                {"value": "boom", "stacktrace": {"frames": [{"vars": {"body": SECRET_BODY}}]}}
            ]
        },
    }
    scrubbed = json.dumps(error_tracking.scrub_event(event, {}))
    assert SECRET_BODY not in scrubbed and "Dana" not in scrubbed
    assert event["logentry"] == {"message": "failed", "params": [error_tracking.REMOVED]}
    assert event["request"]["query_string"] == error_tracking.REMOVED
