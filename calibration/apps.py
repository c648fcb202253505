from django.apps import AppConfig


class CalibrationConfig(AppConfig):
    name = "calibration"

    def ready(self) -> None:
        from calibration import services
        from outcomes import events

        # Every final resolution is counted in the same transaction that made it.
        events.subscribe(services.count_resolved_outcomes)
