"""Traffic for the soak (`make soak`, bench/soak.py): a steady offered load, at a constant
arrival rate, shaped like real traffic (/work/shared/notes/real-traffic.md):

- the agent works in conversations of 1-6 actions (email, meeting, deal move); the
  results arrive later, as signals: replies and clicks after a delay, bounces, weak opens
  that settle nothing, meetings attended or missed, deal stages moving;
- some signals arrive *before* their action is recorded (the agent posts asynchronously):
  the immediate sweep settles those;
- one action in five is back-dated (`occurred_at` in the past) so that its result window
  ends during the soak: the expiry sweep falls due every few minutes with real work (it
  expires them, or makes them ambiguous where only an open was seen);
- managers (one user in ten) read dashboards, the feedback summary and coaching patterns,
  and rate the agent's actions (each once: a rating of one target is 201 the first time);
  at 20 requests/s that is about one dashboard every 2 s, a busy team's pace.

Every request is appended to LL_SOAK_LOG (start time, name, ms, status, ok) so that
bench/soak.py can cut it into intervals and count the 201s. Every id starts with
LL_SOAK_RUN, so what this run stored can be counted in the tenant.

Environment (set by bench/soak.py): LL_TENANT, LL_AGENT_KEY, LL_USER_TOKEN, LL_SOAK_RUN,
LL_SOAK_LOG, LL_SOAK_END (epoch seconds: back-dated windows end before it),
LL_SOAK_AGENT_RATE and LL_SOAK_MANAGER_RATE (requests/s per simulated user).
"""

from __future__ import annotations

import heapq
import itertools
import os
import random
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any

from locust import HttpUser, constant_throughput, events, task

PREFIX = os.environ.get("LL_TENANT", "/t/demo").rstrip("/") + "/api/v1/"
RUN = os.environ.get("LL_SOAK_RUN", "soak")
END = float(os.environ.get("LL_SOAK_END", "0") or 0)
AGENT_RATE = float(os.environ.get("LL_SOAK_AGENT_RATE", "1.0"))
MANAGER_RATE = float(os.environ.get("LL_SOAK_MANAGER_RATE", "0.75"))
LOG = open(os.environ.get("LL_SOAK_LOG", os.devnull), "a", buffering=1)  # noqa: SIM115

# Result windows (outcomes/rules.py), to back-date an action so its window ends soon.
WINDOWS = {
    "email_engagement": timedelta(days=7),
    "meeting_outcome": timedelta(days=14),
    "deal_progression": timedelta(days=30),
}
TYPES = [  # (action type, outcome type, weight)
    ("send_email", "email_engagement", 6),
    ("schedule_meeting", "meeting_outcome", 2),
    ("advance_stage", "deal_progression", 2),
]
# deal stages a move goes to (not won or lost: a later move from a closed deal is refused)
STAGES = ["qualification", "discovery", "demo", "proposal", "negotiation"]
BACKDATED = 0.2  # share of actions whose window ends during the soak
EARLY = 0.05  # share of signals posted before their action
MEAN_DELAY = 60.0  # seconds: a reply "hours later", compressed

# Requests due later (late signals, actions posted after their early signal): a heap of
# (due time, sequence, name, body). Shared by every simulated agent (one process).
DUE: list[tuple[float, int, str, dict[str, Any]]] = []
SEQUENCE = itertools.count()
RATABLE: deque[tuple[str, str]] = deque(maxlen=5000)  # (action id, conversation) to rate


@events.request.add_listener
def _log(
    name: str,
    response_time: float,
    response: Any = None,
    exception: BaseException | None = None,
    start_time: float | None = None,
    **_: Any,
) -> None:
    status = getattr(response, "status_code", 0) or 0
    ok = exception is None and 200 <= status < 300
    when = start_time or time.time()
    LOG.write(f"{when:.3f}\t{name}\t{response_time:.1f}\t{status}\t{int(ok)}\n")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _later(delay: float, name: str, body: dict[str, Any]) -> None:
    heapq.heappush(DUE, (time.time() + delay, next(SEQUENCE), name, body))


def _signal(
    conversation: str, action_id: str, kind: str, when: datetime | None, **data: Any
) -> dict[str, Any]:
    """A signal's body; without `when` it happened when it arrives (the server's now)."""
    body = {
        "conversation_id": conversation,
        "action_id": action_id,
        "kind": kind,
        "data": data,
        "signal_id": f"{action_id}-{kind}",
    }
    if when is not None:
        body["occurred_at"] = _iso(when)
    return body


def _results(
    outcome_type: str, conversation: str, action_id: str, at: datetime | None
) -> list[tuple[float, dict[str, Any]]]:
    """What happens after an action: (delay in seconds, signal) for each signal to come.
    `at`: when a back-dated action happened (its signals then did too, hours later);
    None for an action of now (its signals happen when they arrive)."""
    roll = random.random()
    delay = random.expovariate(1 / MEAN_DELAY)
    later = at + timedelta(hours=random.uniform(0.5, 48)) if at else None
    if outcome_type == "email_engagement":
        if roll < 0.30:
            kind = random.choice(["replied", "clicked"])
            return [(delay, _signal(conversation, action_id, kind, later))]
        if roll < 0.40:
            soon = at + timedelta(minutes=1) if at else None
            return [(5.0, _signal(conversation, action_id, "bounced", soon))]
        if roll < 0.65:
            return [(delay, _signal(conversation, action_id, "opened", later))]
        return []  # silence: expires at the end of its window
    if outcome_type == "meeting_outcome":
        if roll < 0.45:
            sentiment = random.choice(["positive", "neutral"])
            signal = _signal(
                conversation, action_id, "meeting_attended", later, sentiment=sentiment
            )
            return [(delay, signal)]
        if roll < 0.60:
            return [(delay, _signal(conversation, action_id, "meeting_no_show", later))]
        return []
    if roll < 0.35:
        stage = random.choice(STAGES)
        return [(delay, _signal(conversation, action_id, "stage_changed", later, to=stage))]
    return []


class Agent(HttpUser):
    """The agent: one request per tick, at a constant rate. A signal or action due is sent
    first; otherwise the next action of the current conversation (or a calibration
    question now and then)."""

    wait_time = constant_throughput(AGENT_RATE)
    weight = 9

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {os.environ['LL_AGENT_KEY']}"
        self.conversation = ""
        self.left = 0
        self.serial = itertools.count()

    @task
    def tick(self) -> None:
        if DUE and DUE[0][0] <= time.time():
            _, _, name, body = heapq.heappop(DUE)
            self._post(name, body)
        elif random.random() < 0.1:
            self.client.post(
                PREFIX + "calibrate/",
                json={"action_type": "send_email", "confidence": round(random.random(), 2)},
                name="POST calibrate/",
            )
        else:
            self._act()

    def _post(self, name: str, body: dict[str, Any]) -> None:
        path = "outcomes/" if name == "POST outcomes/" else "signals/"
        with self.client.post(PREFIX + path, json=body, name=name, catch_response=True) as r:
            if r.status_code not in (200, 201):
                r.failure(f"{r.status_code} {r.text[:200]}")
            elif name == "POST outcomes/":
                RATABLE.append((body["action_id"], body["conversation_id"]))

    def _act(self) -> None:
        if self.left <= 0:
            self.conversation = f"{RUN}-c{id(self):x}-{next(self.serial)}"
            self.left = random.randint(1, 6)
        self.left -= 1
        action_type, outcome_type = random.choices(
            [(a, o) for a, o, _ in TYPES], weights=[w for *_, w in TYPES]
        )[0]
        action_id = f"{RUN}-a{id(self):x}-{next(self.serial)}"
        now = datetime.now(UTC)
        at = now
        remaining = END - time.time()
        backdated = remaining > 180 and random.random() < BACKDATED
        if backdated:
            # the window ends between 1 minute from now and 90 s before the load stops
            at = now - WINDOWS[outcome_type] + timedelta(seconds=random.uniform(60, remaining - 90))
        body = {
            "action_id": action_id,
            "conversation_id": self.conversation,
            "rep": random.choice(["alice", "bob"]),
            "action_type": action_type,
            "predicted_confidence": round(random.uniform(0.2, 0.95), 2),
            "outcome_type": outcome_type,
            "occurred_at": _iso(at),
            "attributes": {
                "persona": random.choice(["cfo", "cto", "vp_sales"]),
                "channel": "email" if outcome_type == "email_engagement" else "call",
            },
        }
        results = _results(outcome_type, self.conversation, action_id, at if backdated else None)
        if backdated:
            # its signals, if any, happened in the past: they arrive now, all at once
            results = [(random.uniform(1, 20), signal) for _, signal in results]
        elif results and random.random() < EARLY:
            # the signal arrives first; its action is recorded a few seconds later (with
            # the time it happened, before the signal): the immediate sweep settles it
            _, signal = results[0]
            self._post("POST signals/", signal)
            _later(random.uniform(2, 10), "POST outcomes/", body)
            return
        self._post("POST outcomes/", body)
        for delay, signal in results:
            _later(delay, "POST signals/", signal)


class Manager(HttpUser):
    """A manager reviewing: dashboards, the feedback summary, coaching patterns, and
    ratings of the agent's recent actions (each action rated once)."""

    wait_time = constant_throughput(MANAGER_RATE)
    weight = 1

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {os.environ['LL_USER_TOKEN']}"

    @task(2)
    def dashboard(self) -> None:
        days = random.choice([7, 30, 90])
        self.client.get(PREFIX + f"analytics/manager/?days={days}", name="GET analytics/manager/")

    @task(1)
    def feedback_summary(self) -> None:
        self.client.get(PREFIX + "feedback/summary/?days=7", name="GET feedback/summary/")

    @task(1)
    def coaching(self) -> None:
        self.client.get(PREFIX + "coaching/patterns/", name="GET coaching/patterns/")

    @task(4)
    def rate(self) -> None:
        if not RATABLE:
            self.dashboard()
            return
        action_id, conversation = RATABLE.popleft()
        with self.client.post(
            PREFIX + "feedback/",
            json={
                "target_type": "message",
                "target_id": action_id,
                "conversation_id": conversation,
                "source": "dashboard",
                "rating": random.randint(1, 5),
            },
            name="POST feedback/",
            catch_response=True,
        ) as r:
            if r.status_code not in (200, 201):
                r.failure(f"{r.status_code} {r.text[:200]}")
