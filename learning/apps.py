from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "learning"
    verbose_name = "Learning Loop"

    def ready(self) -> None:
        from django_structlog.signals import bind_extra_request_metadata

        from learning import lockout

        # The request log's client address, as the sign-in limits see it (no raw header).
        bind_extra_request_metadata.connect(lockout.bind_client_address)
