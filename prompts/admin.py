"""Prompts in the tenant admin: the Slack connection (admins only; its token is written,
checked with Slack and never shown back), who each person is in Slack, and every prompt
sent or not (read-only; managers see their team's)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from learning.admin_access import ReviewAdmin, SettingsAdmin, is_reviewer
from learning.models import Role
from prompts import preferences, slack
from prompts.models import Preference, Prompt, SlackConnection

SECRETS = ("bot_token", "signing_secret")
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
# What Slack's refusals of a token mean, in plain words (Slack's own code follows).
REFUSALS = {
    "invalid_auth": "Slack does not know this token: copy the Bot User OAuth Token again.",
    "not_authed": "Slack received no token.",
    "account_inactive": "The app's Slack account is deactivated.",
    "token_revoked": "This token was revoked in Slack: reinstall the app to get a new one.",
    "token_expired": "This token has expired: reinstall the app to get a new one.",
}


def is_admin(request: HttpRequest) -> bool:
    return is_reviewer(request) and getattr(request.user, "role", None) == Role.ADMIN


class SlackConnectionForm(forms.ModelForm):
    """The token and signing secret are write-only: the fields start empty, and empty
    keeps what is stored."""

    bot_token = forms.CharField(
        required=False,
        strip=True,
        max_length=300,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        label="Bot token",
        help_text="The app's Bot User OAuth Token (xoxb-…), from your Slack app's "
        "“OAuth & Permissions” page. It is checked with Slack when you save, kept "
        "encrypted and never shown again. Leave blank to keep the current one.",
    )
    signing_secret = forms.CharField(
        required=False,
        strip=True,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        label="New signing secret",
        help_text="Optional: the app's signing secret (“Basic Information”), which proves "
        "button clicks come from Slack. Leave blank to keep the current one.",
    )

    class Meta:
        model = SlackConnection
        fields = ("reports_channel",)

    def clean_bot_token(self) -> str:
        token = str(self.cleaned_data.get("bot_token") or "")
        if token and not token.startswith("xoxb-"):
            raise forms.ValidationError("A bot token starts with xoxb-.")
        if token:
            try:
                slack.check_token(token)
            except slack.SlackError as exc:
                plain = REFUSALS.get(exc.error, "Slack refused this token.")
                if exc.retryable:
                    plain = "Slack could not be reached to check this token: try again."
                raise forms.ValidationError(
                    f"{plain} (Slack said: {exc.error}.) Nothing was changed."
                ) from None
        return token

    def clean_reports_channel(self) -> str:
        channel = str(self.cleaned_data.get("reports_channel") or "").strip()
        if channel and not re.fullmatch(r"[CG][A-Z0-9]{2,31}", channel):
            raise forms.ValidationError("A channel id looks like C0123ABCD (not #name).")
        return channel


@admin.register(SlackConnection)
class SlackConnectionAdmin(SettingsAdmin):
    """The tenant's Slack app: admins only (the page sets where prompts, reports and alerts
    go). Saving a new token checks it with Slack (`auth.test`) and keeps it only if Slack
    accepts it; "Disconnect" forgets it."""

    form = SlackConnectionForm
    change_form_template = "admin/prompts/slackconnection/change_form.html"
    readonly_fields = (
        "status",
        "team_name",
        "team_id",
        "token_hint",
        "signing_secret_set",
        "connected_at",
        "connected_by",
    )
    fieldsets = (
        (None, {"fields": ("status", "team_name", "team_id", "connected_at", "connected_by")}),
        ("Token", {"fields": ("token_hint", "bot_token", "signing_secret_set", "signing_secret")}),
        ("Reports and alerts", {"fields": ("reports_channel",)}),
    )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_admin(request)

    @admin.display(description="Status")
    def status(self, obj: SlackConnection) -> str:
        if obj.connected:
            return "Connected: prompts go to people as Slack direct messages."
        return "Not connected: prompts go by email only."

    @admin.display(description="Own signing secret")
    def signing_secret_set(self, obj: SlackConnection) -> str:
        return "set" if obj.signing_secret_encrypted else "not set (the deployment's is used)"

    @method_decorator(sensitive_post_parameters(*SECRETS))
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: Any = None,
    ) -> HttpResponse:
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        secret = data.get("signing_secret") or None
        if data.get("bot_token"):
            row = slack.connect(
                bot_token=data["bot_token"],
                reports_channel=data["reports_channel"],
                signing_secret=secret,
                by=request.user.get_username(),
            )
        else:
            row = slack.set_options(reports_channel=data["reports_channel"], signing_secret=secret)
        obj.pk = row.pk
        obj.refresh_from_db()

    def get_urls(self) -> list[Any]:
        return [
            path(
                "disconnect/",
                self.admin_site.admin_view(self.disconnect_view),
                name="prompts_slackconnection_disconnect",
            ),
            *super().get_urls(),
        ]

    def disconnect_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        slack.disconnect(by=request.user.get_username())
        self.message_user(
            request,
            "Slack disconnected: its token is forgotten, and prompts go by email until you "
            "connect again.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:prompts_slackconnection_change", args=[1]))


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = Preference
        fields = ("user", "slack_user_id")

    def clean_slack_user_id(self) -> str:
        value = str(self.cleaned_data.get("slack_user_id") or "").strip()
        if value and not SLACK_USER_ID.fullmatch(value):
            raise forms.ValidationError(
                "A Slack user id looks like U0123ABCD (in Slack: the person's profile, "
                "⋮, “Copy member ID”)."
            )
        return value


@admin.register(Preference)
class PreferenceAdmin(ReviewAdmin):
    """How each person is prompted. People choose their channels and quiet hours on their
    own settings page; an admin sets who they are in Slack when their Slack email differs
    from the one here. Managers read their team's."""

    form = PreferenceForm
    list_display = (
        "user",
        "slack",
        "email",
        "email_also",
        "quiet_hours",
        "slack_user_id",
        "slack_user_found_by",
    )
    list_filter = ("slack", "email", "email_also", "slack_user_found_by")
    search_fields = ("user__username", "user__email", "slack_user_id")
    list_select_related = ("user",)
    rep_field = "user"
    readonly_fields = (
        "slack",
        "email",
        "email_also",
        "quiet_start",
        "quiet_end",
        "slack_user_found_by",
    )

    @admin.display(description="quiet hours (their time zone)")
    def quiet_hours(self, obj: Preference) -> str:
        if obj.quiet_start is None or obj.quiet_end is None:
            return "none"
        zone = getattr(obj.user, "time_zone", "UTC")
        return f"{obj.quiet_start:%H:%M} to {obj.quiet_end:%H:%M} ({zone})"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return self.readonly_fields
        return ("user", *self.readonly_fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_admin(request)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = preferences.set_slack_user_id(
            user=form.cleaned_data.get("user") or obj.user,
            slack_user_id=form.cleaned_data["slack_user_id"],
        )
        obj.pk = saved.pk
        obj.refresh_from_db()


@admin.register(Prompt)
class PromptAdmin(ReviewAdmin):
    """Every prompt, sent or not (with why), and when it was answered: admins see all,
    managers their team's."""

    list_display = (
        "created_at",
        "recipient",
        "channel",
        "status",
        "reason",
        "why",
        "sent_at",
        "answered_at",
        "answered_via",
        "attempts",
    )
    list_filter = ("channel", "status")
    search_fields = ("recipient__username",)
    date_hierarchy = "created_at"
    list_select_related = ("recipient",)
    exclude = ("outcome",)
    readonly_fields = (
        "recipient",
        "action",
        "channel",
        "why",
        "status",
        "reason",
        "created_at",
        "send_after",
        "sent_at",
        "attempts",
        "slack_user",
        "slack_channel",
        "slack_ts",
        "answered_at",
        "answered_via",
        "answer",
    )
    rep_field = "recipient"

    @admin.display(description="action")
    def action(self, obj: Prompt) -> str:
        outcome = obj.outcome
        return f"{outcome.action_type} ({outcome.action_id}) in {outcome.conversation.external_id}"
