"""The demo history is built behind the running product: recorded before the web server
starts, its step shown on every page until it is done, an interrupted or failed build
finished by the next start, and an old demo (outcomes, no record) left alone."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management.base import CommandError
from django.utils import timezone
from django_tenants.utils import tenant_context

from demo import history
from demo.models import HistoryBuild
from outcomes.tests.factories import OutcomeFactory


def test_a_new_tenant_needs_its_history_until_a_build_finishes(alpha) -> None:
    with tenant_context(alpha.tenant):
        assert history.needs_building() is True
        assert HistoryBuild.objects.get().finished_at is None
        HistoryBuild.objects.update(steps_done=4, steps_total=9, failed="boom")
        assert history.needs_building() is True  # interrupted: built again, from the start
        build = HistoryBuild.objects.get()
        assert (build.steps_done, build.failed) == (0, "")
        HistoryBuild.objects.update(finished_at=timezone.now())
        assert history.needs_building() is False
        assert HistoryBuild.objects.count() == 1


def test_a_demo_with_outcomes_but_no_record_counts_as_built(alpha) -> None:
    with tenant_context(alpha.tenant):
        OutcomeFactory(action_id="old-demo")
        assert history.needs_building() is False
        assert HistoryBuild.objects.get().finished_at is not None


def test_the_build_records_each_step_and_a_failure(alpha, monkeypatch) -> None:
    seen: list[tuple[int, str]] = []

    def watching(*command: str, **_: object) -> None:
        with tenant_context(alpha.tenant):
            build = HistoryBuild.objects.get()
            seen.append((build.steps_done, build.current))
        if command[0] == "explode":
            raise CommandError("the API answered 503")

    monkeypatch.setattr(history, "call_command", watching)
    monkeypatch.setattr(
        history, "steps", lambda *_: [("first thing", ("one",)), ("second thing", ("two",))]
    )
    out = StringIO()
    history.build(alpha.tenant, api_url="http://x/", key="k", out=out)
    assert seen == [(0, "first thing"), (1, "second thing")]
    with tenant_context(alpha.tenant):
        done = HistoryBuild.objects.get()
        assert (done.steps_done, done.steps_total, done.percent) == (2, 2, 100)
        assert done.finished_at is not None
        HistoryBuild.objects.update(finished_at=None)
    assert "==> demo history 2/2: second thing" in out.getvalue()

    monkeypatch.setattr(
        history, "steps", lambda *_: [("fine", ("one",)), ("posting actions", ("explode",))]
    )
    with pytest.raises(CommandError):
        history.build(alpha.tenant, api_url="http://x/", key="k", out=StringIO())
    with tenant_context(alpha.tenant):
        failed = HistoryBuild.objects.get()
        assert failed.failed == "posting actions: the API answered 503"
        assert failed.finished_at is None


def test_every_page_shows_the_build_while_it_runs_and_not_after(alpha, client) -> None:
    alpha.login(client, "manager")
    with tenant_context(alpha.tenant):
        HistoryBuild.objects.create(
            pk=history.ONLY, steps_done=2, steps_total=9, current="people rating"
        )
    for page in ("manager/", "review/", "learning/"):
        body = client.get(alpha.url(page)).content.decode()
        assert "Demo data is still being generated: step 3 of 9, people rating." in body, page
    with tenant_context(alpha.tenant):
        HistoryBuild.objects.update(failed="people rating: no reviewers")
    body = client.get(alpha.url("manager/")).content.decode()
    assert "The demo's history stopped part-way" in body
    assert "people rating: no reviewers" in body
    with tenant_context(alpha.tenant):
        HistoryBuild.objects.update(finished_at=timezone.now())
    assert 'id="demo-history"' not in client.get(alpha.url("manager/")).content.decode()
    # nothing under way: the pages stop asking for a minute
    with tenant_context(alpha.tenant):
        assert cache.get(history.banner_key()) == history.QUIET


def test_the_banner_shows_from_the_first_page_after_a_build_is_recorded(alpha, client) -> None:
    """The race of a first start: a page served a moment before the build was recorded
    marked the schema quiet; the record overrides that at once, in every worker."""
    alpha.login(client, "manager")
    assert 'id="demo-history"' not in client.get(alpha.url("manager/")).content.decode()
    with tenant_context(alpha.tenant):
        assert cache.get(history.banner_key()) == history.QUIET
        assert history.needs_building() is True  # seed_demo records the build
    body = client.get(alpha.url("manager/")).content.decode()
    assert "Demo data is about to be generated." in body
    # a page that raced the record cannot put its quiet mark over the busy one
    with tenant_context(alpha.tenant):
        assert cache.add(history.banner_key(), history.QUIET, timeout=60) is False
        history._record(alpha.tenant, steps_done=9, finished_at=timezone.now())
        assert cache.get(history.banner_key()) is None
    assert 'id="demo-history"' not in client.get(alpha.url("manager/")).content.decode()
