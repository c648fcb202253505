
import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


MOVED = [
    "alert",
    "alertsettings",
    "analyticssettings",
    "rollupstate",
    "dailyfeedbackrollup",
    "dailyoutcomerollup",
    "reportdelivery",
]


def move_content_types(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    content_types.objects.using(db).filter(app_label="learning", model__in=MOVED).update(
        app_label="insights"
    )


class Migration(migrations.Migration):

    initial = True

    # The read side's models lived in `learning` until here. Their tables stay where they
    # are, under their old names (each model's db_table): this migration only tells Django
    # that insights owns them now, and learning's 0006 that learning no longer does. No row
    # is touched; the content types (and so permissions) follow the models.
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("learning", "0005_user_time_zone"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    state_operations = [
        migrations.CreateModel(
            name='AlertSettings',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, editable=False, primary_key=True, serialize=False)),
                ('escalation_spike_ratio', models.FloatField(default=2.0, help_text='Alert when the last 24 h escalate this many times more often than the 7 days before…', validators=[django.core.validators.MinValueValidator(1.0)])),
                ('escalation_min_count', models.PositiveIntegerField(default=5, help_text='…and at least this many escalations happened in the 24 h.')),
                ('brier_worsening', models.FloatField(default=0.05, help_text="Alert when an action type's Brier score of the last 7 days is this much worse than over the 28 days before (30+ outcomes in each).", validators=[django.core.validators.MinValueValidator(0.0), django.core.validators.MaxValueValidator(1.0)])),
                ('engagement_drop_ratio', models.FloatField(default=0.7, help_text='Alert when the email response rate of the last 7 days falls below this share of the 28 days before (30+ decided emails in each).', validators=[django.core.validators.MinValueValidator(0.0), django.core.validators.MaxValueValidator(1.0)])),
                ('ambiguous_backlog', models.PositiveIntegerField(default=25, help_text='Alert when this many outcomes wait for a label.')),
            ],
            options={
                'verbose_name': 'alert settings',
                'verbose_name_plural': 'alert settings',
                'db_table': 'learning_alertsettings',
            },
        ),
        migrations.CreateModel(
            name='AnalyticsSettings',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, editable=False, primary_key=True, serialize=False)),
                ('agent_cost_per_interaction', models.DecimalField(decimal_places=4, default=0.05, help_text='What one agent action costs.', max_digits=8, validators=[django.core.validators.MinValueValidator(0)])),
                ('human_minutes_per_interaction', models.FloatField(default=6.0, help_text='Minutes a rep would spend on the same action.', validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(1440)])),
                ('human_hourly_cost', models.DecimalField(decimal_places=2, default=45, help_text="Loaded cost of a rep's hour.", max_digits=8, validators=[django.core.validators.MinValueValidator(0)])),
                ('human_success_rate', models.FloatField(default=0.25, help_text='Success rate of the same actions done by people (baseline).', validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(1)])),
                ('currency', models.CharField(default='USD', max_length=3)),
            ],
            options={
                'verbose_name': 'analytics settings',
                'verbose_name_plural': 'analytics settings',
                'db_table': 'learning_analyticssettings',
            },
        ),
        migrations.CreateModel(
            name='RollupState',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, editable=False, primary_key=True, serialize=False)),
                ('refreshed_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'db_table': 'learning_rollupstate',
            },
        ),
        migrations.CreateModel(
            name='Alert',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rule', models.CharField(choices=[('escalation_spike', 'Escalation rate spike'), ('brier_worsening', 'Calibration (Brier score) worsening'), ('engagement_drop', 'Email engagement drop'), ('feedback_fatigue', 'Feedback fatigue'), ('ambiguous_backlog', 'Backlog of outcomes to label')], max_length=32)),
                ('subject', models.CharField(blank=True, help_text='What it is about: an action type, a reviewer.', max_length=150)),
                ('message', models.TextField()),
                ('value', models.FloatField(help_text='The measured value when last checked.')),
                ('threshold', models.FloatField()),
                ('opened_at', models.DateTimeField()),
                ('last_seen_at', models.DateTimeField()),
                ('closed_at', models.DateTimeField(blank=True, null=True)),
                ('notified_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'db_table': 'learning_alert',
                'ordering': ['-opened_at', '-id'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('closed_at__isnull', True)), fields=('rule', 'subject'), name='one_open_episode_per_rule_and_subject')],
            },
        ),
        migrations.CreateModel(
            name='DailyFeedbackRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('source', models.CharField(max_length=16)),
                ('reviewer_role', models.CharField(blank=True, max_length=16)),
                ('count', models.PositiveIntegerField(default=0)),
                ('sum_rating', models.FloatField(default=0, help_text='Sum of normalised ratings.')),
                ('rep', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'learning_dailyfeedbackrollup',
                'indexes': [models.Index(fields=['day', 'rep'], name='feedback_rollup_day_rep')],
                'constraints': [models.UniqueConstraint(fields=('day', 'rep', 'source', 'reviewer_role'), name='one_feedback_rollup_row', nulls_distinct=False)],
            },
        ),
        migrations.CreateModel(
            name='DailyOutcomeRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('action_type', models.CharField(max_length=64)),
                ('outcome_type', models.CharField(max_length=32)),
                ('total', models.PositiveIntegerField(default=0)),
                ('pending', models.PositiveIntegerField(default=0)),
                ('positive', models.PositiveIntegerField(default=0)),
                ('negative', models.PositiveIntegerField(default=0)),
                ('ambiguous', models.PositiveIntegerField(default=0)),
                ('expired', models.PositiveIntegerField(default=0)),
                ('scored', models.PositiveIntegerField(default=0, help_text='Counted by calibration.')),
                ('sum_p', models.FloatField(default=0)),
                ('sum_p2', models.FloatField(default=0)),
                ('sum_py', models.FloatField(default=0)),
                ('sum_y', models.FloatField(default=0)),
                ('sum_score', models.FloatField(default=0)),
                ('rep', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'learning_dailyoutcomerollup',
                'indexes': [models.Index(fields=['day', 'rep'], name='outcome_rollup_day_rep')],
                'constraints': [models.UniqueConstraint(fields=('day', 'action_type', 'outcome_type', 'rep'), name='one_outcome_rollup_row', nulls_distinct=False)],
            },
        ),
        migrations.CreateModel(
            name='ReportDelivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('manager_daily', 'Daily manager report'), ('executive_weekly', 'Weekly executive report')], max_length=32)),
                ('period_start', models.DateField()),
                ('period_end', models.DateField()),
                ('sent_at', models.DateTimeField(auto_now_add=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='report_deliveries', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'learning_reportdelivery',
                'ordering': ['-sent_at'],
                'constraints': [models.UniqueConstraint(fields=('kind', 'user', 'period_end'), name='one_report_per_user_and_period')],
            },
        ),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations),
        migrations.RunPython(move_content_types, migrations.RunPython.noop),
    ]
