"""django-tenants' PostgreSQL backend, which does not repeat a SET search_path the
server session already has.

django-tenants forgets the search path whenever the tenant is set (every request sets
the public schema, then its tenant) and whenever a connection is taken from the pool, so
every request began with a `SET search_path` round trip. Here the path a server session
really has is remembered on the psycopg connection itself (it survives in the pool), and
a SET that would not change it is skipped. Only a SET issued outside a transaction is
remembered: inside one, a rollback would undo it, and the pool may roll back a returned
connection without Django knowing.

It also counts every statement and its duration for Prometheus, as django-prometheus' own
PostgreSQL backend does (its mixin and cursor wrapper over this backend; config/metrics.py).
"""

from __future__ import annotations

from typing import Any

from django_prometheus.db.common import DatabaseWrapperMixin, ExportingCursorWrapper
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantsDatabaseWrapper

SESSION_PATH = "_learning_loop_search_path"


class DatabaseWrapper(DatabaseWrapperMixin, TenantsDatabaseWrapper):
    search_path_set_schemas: list[str] | None  # django-tenants' own, untyped there

    def get_connection_params(self) -> dict[str, Any]:
        # psycopg makes every cursor of the connection a counting one (django-prometheus'
        # PostgreSQL backend does the same).
        params: dict[str, Any] = super().get_connection_params()
        params["cursor_factory"] = ExportingCursorWrapper(
            params["cursor_factory"], self.alias, self.vendor
        )
        return params

    def create_cursor(self, name: Any = None) -> Any:
        # Django's own: the mixin's create_cursor is psycopg2's.
        return TenantsDatabaseWrapper.create_cursor(self, name=name)

    def _handle_search_path(self, cursor: Any = None) -> None:
        raw = self.connection
        if (
            raw is not None
            and not self._setting_search_path
            and not self.search_path_set_schemas
            and self.schema_name
        ):
            wanted = self._get_cursor_search_paths()
            if getattr(raw, SESSION_PATH, None) == wanted:
                self.search_path_set_schemas = wanted
                return
        super()._handle_search_path(cursor)
        if raw is not None and self.search_path_set_schemas:
            durable = self.get_autocommit() and not self.in_atomic_block
            setattr(raw, SESSION_PATH, list(self.search_path_set_schemas) if durable else None)

    def _forget_session_path(self) -> None:
        if self.connection is not None:
            setattr(self.connection, SESSION_PATH, None)

    def rollback(self) -> None:
        self._forget_session_path()
        super().rollback()

    def savepoint_rollback(self, sid: Any) -> None:
        self._forget_session_path()
        super().savepoint_rollback(sid)
