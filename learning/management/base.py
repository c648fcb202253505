"""Shared plumbing for ops commands: tenant lookup, JSON output, domain errors."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context
from rich.console import Console

from learning.errors import DomainError
from learning.tenancy import selectors
from learning.tenancy.models import Tenant


def post_json(url: str, body: Any, key: str) -> Any:
    """POST `body` to the product's own API as a client would (simulators); a 4xx/5xx is
    a CommandError with the response's start."""
    request = urllib.request.Request(  # noqa: S310 - the operator's own API URL
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise CommandError(f"{url}: {exc.code} {exc.read()[:500]!r}") from exc


def tenants_for(slug: str | None) -> list[Tenant]:
    """The tenant named by a command's `--tenant`, or every ready tenant without one."""
    return [tenant_or_error(slug)] if slug else list(selectors.ready_tenants())


def tenant_or_error(slug: str) -> Tenant:
    tenant = selectors.ready_tenant_by_slug(slug=slug)
    if tenant is None:
        raise CommandError(f"No tenant {slug!r}. Create it with: manage.py create_tenant {slug}")
    return tenant


class TenantCommand(BaseCommand):
    """A command that acts inside one tenant, named by its first argument."""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The tenant's slug.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_or_error(options["slug"])
        try:
            with tenant_context(tenant):
                result = self.handle_in_tenant(tenant, **options)
        except DomainError as exc:
            field = f"{exc.field}: " if exc.field else ""
            raise CommandError(f"{field}{exc.message}") from exc
        self.emit(result, as_json=options["json"])

    def handle_in_tenant(self, tenant: Tenant, **options: Any) -> dict[str, Any]:
        raise NotImplementedError

    def emit(self, result: dict[str, Any], *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(result))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key}: {value}")


def console_for(command: BaseCommand, *, wide: bool = False) -> Console:
    """A rich console on the command's stdout (progress bars, tables); 200 columns when
    `wide` and not on a terminal (a log file keeps whole table rows)."""
    out = command.stdout
    width = None if not wide or out.isatty() else 200
    return Console(file=out, width=width)  # type: ignore[arg-type]  # a TextIOBase, as rich needs
