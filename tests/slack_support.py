"""A tenant connected to the local Slack (tests/slack_server.py) with a reports channel, and
Celery tasks run eagerly in the test's own transaction (a worker could not see its rows)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from config.celery import app
from prompts import slack
from tests.slack_server import FakeSlack, running_slack

TOKEN = "xoxb-test-token"
CHANNEL = "C0REPORTS"


@contextmanager
def eager_tasks() -> Iterator[None]:
    """`apply_async` runs the task at once, in this process (a retry too, without waiting;
    what the task raises stays in its result, as a worker would keep it)."""
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = before


@contextmanager
def slack_channel(settings: Any, *, channel: str = CHANNEL) -> Iterator[FakeSlack]:
    """The current tenant connected to a local Slack, `channel` its reports channel ("":
    none); tasks eager while the block runs."""
    with running_slack(tokens={TOKEN}) as fake, eager_tasks():
        settings.SLACK_API_URL = fake.api_url
        slack.connect(bot_token=TOKEN, reports_channel=channel)
        yield fake
