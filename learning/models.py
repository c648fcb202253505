from __future__ import annotations

import zoneinfo

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


class Role(models.TextChoices):
    REP = "rep", "Sales rep"
    MANAGER = "manager", "Sales manager"
    EXECUTIVE = "executive", "Executive"
    ADMIN = "admin", "Admin (ops)"


# Roles that may open the tenant's Django admin (managers review conversations there).
STAFF_ROLES = frozenset({Role.MANAGER, Role.ADMIN})


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone, e.g. Europe/Paris.")


class User(AbstractUser):
    """A human in one tenant. Users live in the tenant's schema, never in another's."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REP)
    manager = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
        limit_choices_to={"role": Role.MANAGER},
        help_text="The rep's manager.",
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        db_default="UTC",
        validators=[validate_time_zone],
        help_text="Where the person works: coaching reads hours and weekdays in it.",
    )

    class Meta:
        ordering = ["username"]


class ApiToken(models.Model):
    """A personal API token, sent as `Authorization: Bearer <token>`.

    Only a SHA-256 digest is stored. The token itself is derived from `secret_salt` with an
    HMAC keyed by SECRET_KEY, so `create_user --json` can print the same token again
    (idempotent) without the plain token ever being written to the database.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, default="default")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16, help_text="First characters, to tell tokens apart.")
    secret_salt = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"],
                condition=Q(revoked_at__isnull=True),
                name="one_active_token_per_user_and_name",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user.username}/{self.name} ({self.prefix}…)"


class AgentKey(models.Model):
    """An API key of the AI agent. Shown once at creation; only its digest is stored."""

    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "-created_at"]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"{self.name} ({self.prefix}…, {state})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class CredentialsVersion(models.Model):
    """The tenant's credentials version: one row (id 1), bumped by every revocation or
    deletion of an agent key in the transaction that makes it (learning.selectors
    .after_revocation). A process that remembers an agent key remembers the version it was
    read with and reads this row, not the key, on every use: a changed version means
    "look the key up again". It lives in PostgreSQL, beside the keys, so a revocation
    takes effect at once whatever Redis does (out of reach, evicted, restarted empty)."""

    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"credentials version {self.version}"
