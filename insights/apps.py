from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """The read side: rollups, analytics, the role pages and their API, alerts, reports,
    exports and the pages' live feed."""

    name = "insights"
    verbose_name = "Insights"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from insights import live

        # Signing out closes the sockets that session opened (no events after sign-out).
        user_logged_out.connect(live.close_sockets_of_session)
