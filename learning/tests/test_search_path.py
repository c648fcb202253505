"""A server session keeps its search_path: switching to the public schema and back to
the same tenant (every request does) issues no SET, another tenant does, and a SET made
inside a transaction that rolls back is issued again. Every step checks the schema the
session really searches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import DatabaseError, connections
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantsDatabaseWrapper


@pytest.fixture
def session(world, db, monkeypatch) -> Iterator[Any]:
    """A connection of its own, in autocommit, outside the test's transaction; counts
    the SETs django-tenants is asked to issue."""
    default = connections["default"]
    other = type(default)(dict(default.settings_dict), alias="search-path-test")
    other.sets = 0
    original = TenantsDatabaseWrapper._handle_search_path

    def counting(self: Any, cursor: Any = None) -> None:
        if self is other and not self.search_path_set_schemas and not self._setting_search_path:
            other.sets += 1
        original(self, cursor)

    monkeypatch.setattr(TenantsDatabaseWrapper, "_handle_search_path", counting)
    yield other
    other.close()


def _sets(conn: Any, tenant: Any) -> int:
    """As a request does: the public schema, then the tenant, then a query."""
    before = conn.sets
    conn.set_schema_to_public()
    conn.set_tenant(tenant)
    with conn.cursor() as cursor:
        cursor.execute("SELECT current_schemas(false)")
        assert cursor.fetchone()[0][0] == tenant.schema_name
    return conn.sets - before


def test_the_same_tenant_again_costs_no_set(session, world) -> None:
    alpha, beta = world["alpha"].tenant, world["beta"].tenant
    assert _sets(session, alpha) == 1  # the first time
    assert _sets(session, alpha) == 0  # every request after
    assert _sets(session, beta) == 1  # another tenant
    assert _sets(session, alpha) == 1
    assert _sets(session, alpha) == 0


def test_a_set_undone_by_a_rollback_is_issued_again(session, world) -> None:
    alpha, beta = world["alpha"].tenant, world["beta"].tenant
    assert _sets(session, alpha) == 1
    session.set_autocommit(False)
    session.set_tenant(beta)
    with pytest.raises(DatabaseError), session.cursor() as cursor:  # SET in a transaction…
        cursor.execute("SELECT * FROM no_such_table")  # …which then fails
    session.rollback()  # the SET is undone with it
    session.set_autocommit(True)
    assert _sets(session, alpha) == 1  # not trusted any more: issued again
    assert _sets(session, alpha) == 0
