from typing import Any

from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "learning"
    verbose_name = "Learning Loop"

    def ready(self) -> None:
        from django.db.models.signals import post_delete
        from django_structlog.signals import bind_extra_request_metadata

        from learning import lockout, selectors
        from learning.models import AgentKey

        # The request log's client address, as the sign-in limits see it (no raw header).
        bind_extra_request_metadata.connect(lockout.bind_client_address)

        # A deleted key stops at once in every process that remembered it.
        def key_deleted(**_: Any) -> None:
            selectors.after_revocation()

        post_delete.connect(key_deleted, sender=AgentKey, weak=False)
