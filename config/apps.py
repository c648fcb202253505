from django.apps import AppConfig


class WiringConfig(AppConfig):
    """Connects the apps' events to their subscribers (config/wiring.py) once every app
    is loaded. Last in INSTALLED_APPS."""

    name = "config"
    label = "wiring"

    def ready(self) -> None:
        from django.core import checks

        from config import mail, metrics, wiring

        wiring.connect()
        metrics.connect()  # Celery's task failures and retries, counted
        # Production without a mail backend: said at every start of a management command.
        checks.register(mail.unconfigured_mail)
