from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "learning"
    verbose_name = "Learning Loop"

    def ready(self) -> None:
        from learning import analytics_cache
        from outcomes import events

        events.subscribe(analytics_cache.on_outcomes_resolved)
