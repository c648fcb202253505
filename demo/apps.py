from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The simulated agent and reviewers that fill `make run`'s demo tenant."""

    name = "demo"
    verbose_name = "Demo"
