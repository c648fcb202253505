"""`manage.py configure_slack <tenant> --bot-token xoxb-… [--reports-channel C…]`"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import CommandError, CommandParser

from learning.management.base import TenantCommand
from learning.tenancy.models import Tenant
from learning.tenancy.urls import absolute_url
from prompts import slack


class Command(TenantCommand):
    help = (
        "Connect a tenant to its Slack app: the bot token is checked with Slack (auth.test) "
        "and kept encrypted; it is never printed. Prints the interactivity URL to give Slack. "
        "Rerunning with the same values changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--bot-token",
            default=os.environ.get("SLACK_BOT_TOKEN", ""),
            help="The app's Bot User OAuth Token (xoxb-…); default $SLACK_BOT_TOKEN, which "
            "keeps it out of the shell's history.",
        )
        parser.add_argument(
            "--reports-channel", help="Channel id (C…) for reports and alerts; '' for none."
        )
        parser.add_argument(
            "--signing-secret",
            help="This tenant's own Slack app signing secret (default: SLACK_SIGNING_SECRET).",
        )
        parser.add_argument("--disconnect", action="store_true", help="Forget the token.")

    def handle_in_tenant(self, tenant: Tenant, **options: Any) -> dict[str, Any]:
        if options["disconnect"]:
            slack.disconnect()
            return {"tenant": tenant.slug, "connected": False}
        token = (options["bot_token"] or "").strip()
        if not token.startswith("xox"):
            raise CommandError("--bot-token: give the app's bot token (it starts with xoxb-).")
        channel = options["reports_channel"]
        if channel and channel[:1] not in {"C", "G"}:
            raise CommandError("--reports-channel: a channel id starts with C or G (e.g. C0123).")
        try:
            row = slack.connect(
                bot_token=token,
                reports_channel=channel,
                signing_secret=options["signing_secret"],
                by="manage.py configure_slack",
            )
        except slack.SlackError as exc:
            raise CommandError(
                f"Slack refused the token: {exc.error}. Nothing was stored."
            ) from exc
        return {
            "tenant": tenant.slug,
            "connected": True,
            "team": row.team_name,
            "team_id": row.team_id,
            "bot_user_id": row.bot_user_id,
            "reports_channel": row.reports_channel,
            "interactivity_url": absolute_url("slack-interactivity"),
        }
