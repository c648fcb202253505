"""Access closed by default: API list views and admin pages show the caller's scope, and
nothing when a class forgets to say whose rows it shows."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django_tenants.utils import tenant_context
from rest_framework import generics

from learning.access import ScopedQuerysetMixin
from learning.admin_access import ReviewAdmin
from outcomes import selectors as outcome_selectors
from outcomes.models import OutcomeRecord
from outcomes.tests.factories import OutcomeFactory


def test_an_api_view_may_not_replace_its_scoped_queryset() -> None:
    with pytest.raises(TypeError, match="replaces get_queryset"):

        class Leaky(ScopedQuerysetMixin, generics.ListAPIView):
            scope = staticmethod(outcome_selectors.visible_outcomes)

            def get_queryset(self):
                return OutcomeRecord.objects.all()


def test_an_api_view_without_a_scope_refuses_to_list(alpha) -> None:
    class Forgetful(ScopedQuerysetMixin, generics.ListAPIView):
        pass

    view = Forgetful()
    view.request = RequestFactory().get("/")
    view.request.user = alpha.users["executive"]
    with pytest.raises(Exception, match="names no scope"):
        view.get_queryset()


def test_the_schema_built_with_no_caller_sees_no_rows(alpha) -> None:
    with tenant_context(alpha.tenant):
        assert outcome_selectors.visible_outcomes(principal=None).count() == 0


@pytest.mark.parametrize(
    "attributes,manager_sees",
    [
        ({}, "nothing"),  # closed by default
        ({"rep_field": "rep"}, "team"),
        ({"whole_tenant": True}, "all"),
    ],
)
def test_review_admin_is_closed_by_default(alpha, attributes, manager_sees) -> None:
    with tenant_context(alpha.tenant):
        OutcomeFactory(action_id="mine", rep="alpha-rep")
        OutcomeFactory(action_id="theirs", rep=None)
        model_admin = type("Probe", (ReviewAdmin,), attributes)(OutcomeRecord, admin.site)
        request = RequestFactory().get("/")
        for role, expected in (("manager", manager_sees), ("executive", "all")):
            request.user = alpha.users[role]
            seen = set(model_admin.get_queryset(request).values_list("action_id", flat=True))
            assert (
                seen == {"nothing": set(), "team": {"mine"}, "all": {"mine", "theirs"}}[expected]
            ), role
