from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """The read side: rollups, analytics, the role pages and their API, alerts, reports."""

    name = "insights"
    verbose_name = "Insights"
