"""Mixed traffic for the load test (`make load`): the agent posting actions, signals and
calibration questions, and managers on dashboards and giving feedback.

Configured by the environment `bench/load.py` sets: LL_TENANT (the tenant's path prefix),
LL_AGENT_KEY and LL_USER_TOKEN (a manager's personal token)."""

from __future__ import annotations

import os
import random
import uuid
from collections import deque

from locust import HttpUser, between, task

PREFIX = os.environ.get("LL_TENANT", "/t/demo").rstrip("/") + "/api/v1/"
POSTED: deque[tuple[str, str]] = deque(maxlen=5000)  # (action_id, conversation) to follow up
TYPES = [
    ("send_email", "email_engagement"),
    ("schedule_meeting", "meeting_outcome"),
    ("advance_stage", "deal_progression"),
]


class Agent(HttpUser):
    weight = 3
    wait_time = between(0.05, 0.3)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {os.environ['LL_AGENT_KEY']}"

    @task(5)
    def post_action(self) -> None:
        action_type, outcome_type = random.choice(TYPES)
        action_id = f"load-{uuid.uuid4().hex}"
        conversation = f"load-conv-{random.randrange(500)}"
        body = {
            "action_id": action_id,
            "conversation_id": conversation,
            "rep": random.choice(["alice", "bob"]),
            "action_type": action_type,
            "predicted_confidence": round(random.uniform(0.2, 0.95), 2),
            "outcome_type": outcome_type,
            "attributes": {"persona": random.choice(["cfo", "cto", "vp_sales"])},
        }
        with self.client.post(
            PREFIX + "outcomes/", json=body, name="POST outcomes/", catch_response=True
        ) as response:
            if response.status_code == 201:
                if outcome_type == "email_engagement":
                    POSTED.append((action_id, conversation))
            else:
                response.failure(f"{response.status_code} {response.text[:200]}")

    @task(3)
    def post_signal(self) -> None:
        if not POSTED:
            return
        action_id, conversation = POSTED.popleft()
        kind = random.choice(["replied", "clicked", "bounced", "opened"])
        self.client.post(
            PREFIX + "signals/",
            json={"conversation_id": conversation, "action_id": action_id, "kind": kind},
            name="POST signals/",
        )

    @task(2)
    def calibrate(self) -> None:
        self.client.post(
            PREFIX + "calibrate/",
            json={"action_type": "send_email", "confidence": round(random.random(), 2)},
            name="POST calibrate/",
        )


class Manager(HttpUser):
    weight = 1
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {os.environ['LL_USER_TOKEN']}"

    @task(4)
    def dashboard(self) -> None:
        days = random.choice([7, 30, 90])
        self.client.get(PREFIX + f"analytics/manager/?days={days}", name="GET analytics/manager/")

    @task(2)
    def feedback_summary(self) -> None:
        self.client.get(PREFIX + "feedback/summary/?days=7", name="GET feedback/summary/")

    @task(1)
    def coaching(self) -> None:
        self.client.get(PREFIX + "coaching/patterns/", name="GET coaching/patterns/")

    @task(2)
    def rate(self) -> None:
        if not POSTED:
            return
        action_id, conversation = random.choice(list(POSTED)[-200:])
        self.client.post(
            PREFIX + "feedback/",
            json={
                "target_type": "message",
                "target_id": action_id,
                "conversation_id": conversation,
                "source": "dashboard",
                "rating": random.randint(1, 5),
            },
            name="POST feedback/",
        )
