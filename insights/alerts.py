"""Threshold alerts, evaluated by beat: one stored episode per rule and subject while the
rule holds, notified once (email to managers and admins, a live push, the bell)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from calibration import selectors as calibration_selectors
from feedback import review as feedback_review
from feedback import selectors as feedback_selectors
from insights import live, slack_posts
from insights.models import Alert, AlertRule, AlertSettings
from insights.sums import ESCALATION, Window, brier, decided, outcome_rows, success_rate, sum_rows
from learning.errors import InvalidInput, NotFound
from learning.models import Role, User
from learning.plain_words import action_type_words
from learning.selectors import reachable, sees_whole_tenant
from learning.tenancy.urls import absolute_url


@dataclass(frozen=True)
class Finding:
    """A rule that holds now, for one subject."""

    rule: str
    subject: str
    value: float
    threshold: float
    message: str


def alert_settings() -> AlertSettings:
    return AlertSettings.objects.filter(pk=1).first() or AlertSettings()


def _days(today: Any, back: int, length: int) -> Window:
    end = today - timedelta(days=back)
    return Window(end - timedelta(days=length - 1), end)


def _escalation(config: AlertSettings, today: Any) -> list[Finding]:
    def rate(window: Window) -> tuple[int, float | None]:
        rows = outcome_rows(window)
        total = sum(r["total"] for r in rows)
        escalations = sum(r["total"] for r in rows if r["outcome_type"] == ESCALATION)
        return escalations, (escalations / total if total else None)

    count, now = rate(_days(today, 0, 1))
    _, before = rate(_days(today, 1, 7))
    if now is None or count < config.escalation_min_count:
        return []
    limit = (before or 0) * config.escalation_spike_ratio
    if before and now <= limit:
        return []
    return [
        Finding(
            AlertRule.ESCALATION_SPIKE,
            "",
            now,
            limit,
            f"{count} escalations today, {now:.0%} of actions, against "
            f"{(before or 0):.0%} over the 7 days before.",
        )
    ]


def _by_type(window: Window) -> dict[str, dict[str, float]]:
    by_type: dict[str, list[dict[str, Any]]] = {}
    for row in outcome_rows(window):
        by_type.setdefault(row["action_type"], []).append(row)
    return {action_type: sum_rows(rows) for action_type, rows in by_type.items()}


def _brier_worsening(config: AlertSettings, today: Any) -> list[Finding]:
    recent, earlier = _by_type(_days(today, 0, 7)), _by_type(_days(today, 7, 28))
    findings = []
    for action_type, now_sums in sorted(recent.items()):
        before_sums = earlier.get(action_type)
        if before_sums is None or min(now_sums["scored"], before_sums["scored"]) < 30:
            continue
        now = brier(now_sums) or 0.0
        before = brier(before_sums) or 0.0
        if now - before > config.brier_worsening:
            findings.append(
                Finding(
                    AlertRule.BRIER_WORSENING,
                    action_type,
                    now,
                    before + config.brier_worsening,
                    f"{action_type_words(action_type)}: the agent's confidence is further "
                    f"from what happened (Brier score {now:.3f} over the last 7 days against "
                    f"{before:.3f} over the 28 days before).",
                )
            )
    return findings


def _engagement(config: AlertSettings, today: Any) -> list[Finding]:
    def rate(window: Window) -> tuple[float, float | None]:
        rows = [r for r in outcome_rows(window) if r["outcome_type"] == "email_engagement"]
        s = sum_rows(rows)
        return decided(s), success_rate(s)

    decided_now, now = rate(_days(today, 0, 7))
    decided_before, before = rate(_days(today, 7, 28))
    if now is None or before is None or min(decided_now, decided_before) < 30:
        return []
    if now >= config.engagement_drop_ratio * before:
        return []
    return [
        Finding(
            AlertRule.ENGAGEMENT_DROP,
            "",
            now,
            config.engagement_drop_ratio * before,
            f"Email response rate {now:.0%} over the last 7 days against {before:.0%} over "
            "the 28 days before.",
        )
    ]


def _fatigue() -> list[Finding]:
    reviewers = User.objects.filter(is_active=True, role__in=[Role.REP, Role.MANAGER])
    return [
        Finding(
            AlertRule.FEEDBACK_FATIGUE,
            row.username,
            float(row.last_7_days),
            float(row.previous_7_days),
            f"{row.username} shows feedback fatigue: {'; '.join(row.reasons)}.",
        )
        for row in feedback_selectors.fatigue(users=reviewers)
        if row.flagged
    ]


def _backlog(config: AlertSettings) -> list[Finding]:
    """The company's To label queues together (what an executive's or admin's queue
    shows); each viewer's link says how many of them are in their own queue."""
    waiting = feedback_review.to_label_count_everyone()
    if waiting < config.ambiguous_backlog:
        return []
    return [
        Finding(
            AlertRule.AMBIGUOUS_BACKLOG,
            "",
            float(waiting),
            float(config.ambiguous_backlog),
            f"{waiting} outcomes wait for a human label across the company (all teams' "
            "To label queues together).",
        )
    ]


def _calibration_changed(today: Any) -> list[Finding]:
    """A restart of learning after a drift alarm in the last 7 days (one per action type:
    its latest): the agent changed, and what it was worth before no longer holds."""
    since = datetime.combine(today - timedelta(days=6), datetime.min.time(), tzinfo=UTC)
    latest: dict[str, Any] = {}
    for restart in calibration_selectors.restarts_since(since):
        latest.setdefault(restart.action_type, restart)
    return [
        Finding(
            AlertRule.CALIBRATION_CHANGED,
            action_type,
            1.0,
            1.0,
            f"{action_type_words(action_type)}: {restart.reason} Its policy stays; check what "
            "changed in the agent "
            f"(a new model, prompt or playbook) on {restart.created_at:%Y-%m-%d}.",
        )
        for action_type, restart in sorted(latest.items())
    ]


def findings(*, today: Any = None) -> list[Finding]:
    config = alert_settings()
    today = today or datetime.now(UTC).date()
    return [
        *_escalation(config, today),
        *_brier_worsening(config, today),
        *_engagement(config, today),
        *_fatigue(),
        *_backlog(config),
        *_calibration_changed(today),
    ]


@dataclass(frozen=True)
class Evaluated:
    opened: list[Alert]
    still_open: int
    closed: int


def evaluate(*, now: datetime | None = None, today: Any = None) -> Evaluated:
    """Open an episode for each new finding (and notify), keep open ones that still hold,
    close those that no longer do. Safe to run twice at once: one open episode per rule
    and subject is a database constraint, and open episodes are locked while checked."""
    now = now or timezone.now()
    current = {(f.rule, f.subject): f for f in findings(today=today)}
    opened: list[Alert] = []
    with transaction.atomic():
        open_alerts = {
            (a.rule, a.subject): a
            for a in Alert.objects.select_for_update().filter(closed_at__isnull=True)
        }
        closed = 0
        for key, alert in open_alerts.items():
            finding = current.get(key)
            if finding is None:
                alert.closed_at = now
                alert.save(update_fields=["closed_at"])
                closed += 1
            else:
                alert.value, alert.message, alert.last_seen_at = finding.value, finding.message, now
                alert.save(update_fields=["value", "message", "last_seen_at"])
        for key, finding in current.items():
            if key in open_alerts:
                continue
            alert, created = Alert.objects.get_or_create(
                rule=finding.rule,
                subject=finding.subject,
                closed_at=None,
                defaults={
                    "message": finding.message,
                    "value": finding.value,
                    "threshold": finding.threshold,
                    "opened_at": now,
                    "last_seen_at": now,
                },
            )
            if created:
                opened.append(alert)
        still_open = len(open_alerts) - closed
        for alert in opened:
            transaction.on_commit(partial(notify, alert))
    return Evaluated(opened, still_open, closed)


def recipients() -> list[User]:
    return list(reachable(Role.MANAGER, Role.ADMIN))


def notify(alert: Alert) -> None:
    """Tell of a newly opened alert once: an email to managers and admins (what happened,
    a link to the page that shows it and one to the alerts page), a post to the tenant's
    reports channel when it has one (queued; Slack failing never fails this), and a push
    to open pages."""
    alerts_url = alerts_page_url(alert)
    to = recipients()
    if to:
        subject = f"[Learning Loop] {alert.get_rule_display()}" + (
            f": {alert.subject}" if alert.subject else ""
        )
        messages = []
        for person in to:  # one message each: nobody sees the others' addresses
            # the link's words for its reader: what their own page will show
            link = absolute_link_for(alert, viewer=person)
            context = {"alert": alert, "link": link, "alerts_url": alerts_url, "subject": subject}
            text = render_to_string("insights/email/alert.txt", context)
            html = render_to_string("insights/email/alert.html", context)
            message = EmailMultiAlternatives(
                subject, text, settings.DEFAULT_FROM_EMAIL, [person.email]
            )
            message.attach_alternative(html, "text/html")
            messages.append(message)
        get_connection().send_messages(messages)
    link = absolute_link_for(alert)
    slack_posts.post_alert(alert, link=link, alerts_url=alerts_url)
    Alert.objects.filter(pk=alert.pk).update(notified_at=timezone.now())
    live.publish_to_managers(
        "alert.opened",
        {"id": alert.pk, "rule": alert.rule, "subject": alert.subject, "message": alert.message},
    )


def open_count(*, now: datetime | None = None) -> int:
    """Open alerts nobody has taken on yet: not acknowledged, not snoozed (the bell)."""
    now = now or timezone.now()
    return (
        Alert.objects.filter(closed_at__isnull=True, acknowledged_at__isnull=True)
        .exclude(snoozed_until__gt=now)
        .count()
    )


SNOOZE_HOURS = (24, 24 * 7)


def acknowledge(*, alert_id: int, user: Any) -> Alert:
    """`user` takes the alert on. Once: a second acknowledgement keeps the first's who
    and when (a retried click changes nothing)."""
    with transaction.atomic():
        alert = _open_alert(alert_id)
        if alert.acknowledged_at is None:
            alert.acknowledged_at, alert.acknowledged_by = timezone.now(), user
            alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return alert


def snooze(*, alert_id: int, user: Any, hours: int) -> Alert:
    """Out of the bell's count for `hours` (one of SNOOZE_HOURS) from now, by `user`."""
    if hours not in SNOOZE_HOURS:
        raise InvalidInput(
            f"Snooze for {' or '.join(str(h) for h in SNOOZE_HOURS)} hours.", field="hours"
        )
    with transaction.atomic():
        alert = _open_alert(alert_id)
        alert.snoozed_until, alert.snoozed_by = timezone.now() + timedelta(hours=hours), user
        alert.save(update_fields=["snoozed_until", "snoozed_by"])
    return alert


def _open_alert(alert_id: int) -> Alert:
    alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
    if alert is None:
        raise NotFound("No such alert.", field="alert")
    if alert.closed_at is not None:
        raise InvalidInput("This alert has closed by itself: nothing to do.", field="alert")
    return alert


@dataclass(frozen=True)
class Target:
    """The page an alert is about: a URL name and its arguments, a query and a fragment."""

    name: str
    args: tuple[Any, ...]
    query: str
    fragment: str
    words: str


def target_of(alert: Alert, *, viewer: Any = None) -> Target | None:
    """The page about what the alert is about, if there is one; its words for `viewer`
    (who will open it) when given."""
    rule = alert.rule
    if rule == AlertRule.AMBIGUOUS_BACKLOG:
        return Target("feedback-review-item", ("to-label", 1), "", "", _backlog_words(viewer))
    if rule == AlertRule.FEEDBACK_FATIGUE:
        return Target("feedback-team", (), "", "fatigue-heading", f"See {alert.subject}'s ratings")
    if rule == AlertRule.ESCALATION_SPIKE:
        return Target("manager-home", (), "days=7&action_type=escalate", "", "See the escalations")
    if rule == AlertRule.ENGAGEMENT_DROP:
        return Target("manager-home", (), "days=7&action_type=send_email", "", "See the emails")
    if alert.subject:  # an action type: Brier worsening, calibration changed
        return Target(
            "manager-home",
            (),
            urlencode({"days": 7, "action_type": alert.subject}),
            "",
            f"See {alert.subject} on the team page",
        )
    return None


def _backlog_words(viewer: Any) -> str:
    """The backlog link's words: the To label queue it opens holds the viewer's scope, so
    it says how many wait there now, and whose they are."""
    if viewer is None:
        return "Open your To label queue (the outcomes of the people you see)"
    shown, more = feedback_review.to_label_count(user=viewer)
    waiting = f"{shown}+" if more else str(shown)
    if sees_whole_tenant(viewer):
        return f"Open the To label queue: {waiting} waiting now, the whole company's"
    whose = "your team's" if viewer.role == Role.MANAGER else "yours"
    return f"Open your To label queue: {waiting} of them waiting now, {whose}"


def link_for(alert: Alert, *, viewer: Any = None) -> tuple[str, str] | None:
    """(URL, words) of the page about what the alert is about, if there is one."""
    target = target_of(alert, viewer=viewer)
    if target is None:
        return None
    query = f"?{target.query}" if target.query else ""
    fragment = f"#{target.fragment}" if target.fragment else ""
    return reverse(target.name, args=target.args) + query + fragment, target.words


def absolute_link_for(alert: Alert, *, viewer: Any = None) -> tuple[str, str] | None:
    """(absolute URL, words) of the same page, for mail (to `viewer`) and Slack."""
    target = target_of(alert, viewer=viewer)
    if target is None:
        return None
    fragment = f"#{target.fragment}" if target.fragment else ""
    return absolute_url(target.name, *target.args, query=target.query) + fragment, target.words


def alerts_page_url(alert: Alert) -> str:
    """The alert on the alerts page (where it is acknowledged or snoozed)."""
    return absolute_url("alerts") + f"#alert-{alert.pk}"
