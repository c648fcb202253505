"""The admin sites' pages run under the Content-Security-Policy's "no inline script"
(config/settings.py): a page that ships one logs a console error and loses that script.
Every page of the ops admin (schedules, tenants) and of a tenant's admin is read for
inline script; the schedule form lists the product's tasks to choose from."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from django.test import Client
from django_tenants.utils import schema_context

from learning import services
from learning.models import User
from tests.test_access_declared import PUBLIC_URLCONF, TENANT_URLCONF, _requestable


class _InlineScripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._open: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._open = dict(attrs)

    def handle_data(self, data: str) -> None:
        attrs = self._open
        if attrs is None or "src" in attrs or not data.strip():
            return
        if (attrs.get("type") or "").endswith("json"):  # data, never run
            return
        self.found.append(data.strip()[:80])

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._open = None


def inline_scripts(html: str) -> list[str]:
    parser = _InlineScripts()
    parser.feed(html)
    return parser.found


def test_the_check_finds_inline_script() -> None:
    page = (
        '<script src="/static/a.js"></script><script type="application/json">{"a": 1}</script>'
        "<script>alert(1)</script>"
    )
    assert inline_scripts(page) == ["alert(1)"]


def _with_inline_script(pages: dict[str, str]) -> dict[str, list[str]]:
    return {path: found for path, html in pages.items() if (found := inline_scripts(html))}


def _admin_pages(client: Client, urlconf: str, prefix: str) -> dict[str, str]:
    pages = {}
    for route, concrete in _requestable(urlconf):
        if "admin" not in route.app_names or concrete.endswith(("logout/", "login/")):
            continue
        response = client.get(prefix + concrete, follow=True)
        if response.status_code == 200 and "html" in response.get("Content-Type", ""):
            pages[concrete] = response.content.decode()
    return pages


def test_ops_admin_pages_have_no_inline_script(world, db) -> None:
    with schema_context("public"):
        user, _ = services.create_user(username="ops-csp", role="admin", password="ops-pass-123")
        User.objects.filter(pk=user.pk).update(is_superuser=True)
    client = Client()
    assert client.login(username="ops-csp", password="ops-pass-123")
    pages = _admin_pages(client, PUBLIC_URLCONF, "/")
    assert "admin/django_celery_beat/periodictask/add/" in pages
    assert _with_inline_script(pages) == {}
    # "Task (registered)": the product's tasks, as the worker knows them
    form = pages["admin/django_celery_beat/periodictask/add/"]
    registered = re.search(r'<select name="regtask".*?</select>', form, re.S)
    assert registered is not None
    for task in ("learning.fan_out", "coaching.batch_learning", "outcomes.sweep"):
        assert f'value="{task}"' in registered.group(0)


def test_tenant_admin_pages_have_no_inline_script(alpha) -> None:
    client = alpha.login(Client(), "admin")
    pages = _admin_pages(client, TENANT_URLCONF, alpha.prefix)
    assert len(pages) > 20
    assert _with_inline_script(pages) == {}
