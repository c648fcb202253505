"""The read side's models moved from `learning` to `insights` without touching their
tables: a tenant schema migrated as it was before the move, with rows in it, is migrated
forward and every row is found through the insights models."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from insights.models import Alert, AnalyticsSettings, DailyOutcomeRollup, ReportDelivery

SCHEMA = "t_before_insights"
BEFORE = [  # the tenant apps' last migrations before the move
    ("learning", "0005_user_time_zone"),
    ("outcomes", "0003_conversation_flag"),
    ("feedback", "0002_draft_sent_at"),
    ("calibration", "0006_adjustment_run_id"),
    ("coaching", "0002_batch_learning"),
]


@pytest.mark.django_db
def test_a_tenant_migrated_before_the_move_keeps_its_rows() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {SCHEMA}")
    connection.set_schema(SCHEMA)
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO learning_user (password, is_superuser, username, first_name, "
                "last_name, email, is_staff, is_active, date_joined, role, time_zone) VALUES "
                "('', false, 'maria', '', '', 'm@example.com', true, true, now(), 'manager', "
                "'UTC') RETURNING id"
            )
            (maria,) = cursor.fetchone()
            cursor.execute(
                "INSERT INTO learning_alert (rule, subject, message, value, threshold, "
                "opened_at, last_seen_at) VALUES ('ambiguous_backlog', '', '40 wait', 40, 25, "
                "now(), now())"
            )
            cursor.execute(
                "INSERT INTO learning_analyticssettings (id, agent_cost_per_interaction, "
                "human_minutes_per_interaction, human_hourly_cost, human_success_rate, "
                "currency) VALUES (1, 0.1, 5, 50, 0.3, 'EUR')"
            )
            cursor.execute(
                "INSERT INTO learning_dailyoutcomerollup (day, action_type, outcome_type, "
                "rep_id, total, pending, positive, negative, ambiguous, expired, scored, "
                "sum_p, sum_p2, sum_py, sum_y, sum_score) VALUES ('2026-11-20', 'send_email', "
                "'email_engagement', %s, 7, 1, 3, 2, 0, 1, 6, 3.5, 2.1, 1.9, 3, 3)",
                [maria],
            )
            cursor.execute(
                "INSERT INTO learning_reportdelivery (kind, user_id, period_start, period_end, "
                "sent_at) VALUES ('manager_daily', %s, '2026-11-19', '2026-11-19', now())",
                [maria],
            )
            cursor.execute(  # as `migrate` leaves it: permissions hang on content types
                "INSERT INTO django_content_type (app_label, model) VALUES ('learning', 'alert')"
            )

        executor = MigrationExecutor(connection)  # forward to today
        executor.migrate(executor.loader.graph.leaf_nodes())

        assert list(Alert.objects.values_list("rule", "message")) == [
            ("ambiguous_backlog", "40 wait")
        ]
        assert AnalyticsSettings.objects.get().currency == "EUR"
        rollup = DailyOutcomeRollup.objects.get()
        assert (rollup.day, rollup.total, rollup.rep.username) == (
            datetime.date(2026, 11, 20),
            7,
            "maria",
        )
        assert ReportDelivery.objects.get().user.username == "maria"
        moved = ContentType.objects.filter(model="alert").values_list("app_label", flat=True)
        assert list(moved) == ["insights"]
    finally:
        connection.set_schema_to_public()
