from django.apps import AppConfig


class WiringConfig(AppConfig):
    """Connects the apps' events to their subscribers (config/wiring.py) once every app
    is loaded. Last in INSTALLED_APPS."""

    name = "config"
    label = "wiring"

    def ready(self) -> None:
        from config import wiring

        wiring.connect()
