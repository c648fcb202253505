"""What reaching people needs: the tenant's Slack connection, each person's channels and
quiet hours, and a record of every prompt sent (or not, and why)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SlackConnection(models.Model):
    """The tenant's Slack app (one row): its bot token, kept encrypted (prompts.vault) and
    never shown back, and where reports and alerts go."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    bot_token_encrypted = models.TextField(blank=True, default="")
    token_hint = models.CharField(
        max_length=16, blank=True, default="", help_text="The token's kind, e.g. xoxb-…"
    )
    signing_secret_encrypted = models.TextField(blank=True, default="")
    team_id = models.CharField(max_length=32, blank=True, default="")
    team_name = models.CharField(max_length=200, blank=True, default="")
    bot_user_id = models.CharField(max_length=32, blank=True, default="")
    reports_channel = models.CharField(
        max_length=32,
        blank=True,
        default="",
        help_text="A channel id (C…) for daily/weekly reports and alerts; empty: none.",
    )
    connected_at = models.DateTimeField(null=True, blank=True)
    connected_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        verbose_name = "Slack connection"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="one_slack_row")]

    def __str__(self) -> str:
        return f"Slack: {self.team_name or 'not connected'}"

    @property
    def connected(self) -> bool:
        return bool(self.bot_token_encrypted)


class Channel(models.TextChoices):
    SLACK = "slack", "Slack direct message"
    EMAIL = "email", "Email"


class Preference(models.Model):
    """How a person wants to be prompted. Absent: Slack when the tenant is connected and
    the person is found there, email otherwise; no quiet hours."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="prompt_preference"
    )
    slack = models.BooleanField(default=True, help_text="Prompts as Slack direct messages.")
    email = models.BooleanField(
        default=True, help_text="Prompts by email (when Slack cannot reach you, or also)."
    )
    email_also = models.BooleanField(default=False, help_text="Email even when Slack reached you.")
    quiet_start = models.TimeField(
        null=True, blank=True, help_text="No prompts from this time (your time zone)…"
    )
    quiet_end = models.TimeField(null=True, blank=True, help_text="…until this time.")
    slack_user_id = models.CharField(
        max_length=32,
        blank=True,
        default="",
        help_text="The person's Slack user id (U…); empty: looked up by their email.",
    )
    slack_user_found_by = models.CharField(max_length=16, blank=True, default="")

    def __str__(self) -> str:
        return f"Prompt preferences of {self.user}"


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    HELD = "held", "Held (quiet hours)"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Not sent"


class Prompt(models.Model):
    """One prompt to one person over one channel about one action: every prompt is
    recorded, sent or not (with why), and when it was answered."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="prompts"
    )
    outcome = models.ForeignKey(
        "outcomes.OutcomeRecord", on_delete=models.CASCADE, related_name="prompts"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    why = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    send_after = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    slack_user = models.CharField(
        max_length=32, blank=True, default="", help_text="Who it was sent to in Slack (U…)."
    )
    slack_channel = models.CharField(max_length=32, blank=True, default="")
    slack_ts = models.CharField(max_length=32, blank=True, default="")
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_via = models.CharField(max_length=16, blank=True, default="")
    answer = models.FloatField(null=True, blank=True, help_text="The rating given.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["outcome", "recipient", "channel"], name="one_prompt_per_channel"
            )
        ]
        indexes = [
            models.Index(fields=["recipient", "created_at"], name="prompt_recipient_day"),
            models.Index(fields=["channel", "created_at"], name="prompt_channel_day"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} prompt to {self.recipient_id} ({self.status})"
