"""django-tenants' migration executors, with a multiprocessing one that works beside
Django's connection pool (settings.GET_EXECUTOR_FUNCTION points here).

The multiprocessing executor forks its workers from the process that has just migrated
the public schema. With the psycopg pool on (production settings), that process holds a
pool whose worker threads do not survive the fork: each child waits forever for a
connection from a pool that nobody fills (`migrate_schemas --executor=multiprocessing`
hung at the first tenant, seen in the tenants bench). Closing the pool before the fork
lets every child open its own.
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django_tenants.migration_executors import get_executor as tenants_get_executor
from django_tenants.migration_executors.multiproc import MultiprocessingExecutor
from django_tenants.utils import get_tenant_database_alias


class PoolSafeMultiprocessingExecutor(MultiprocessingExecutor):  # type: ignore[misc]  # untyped base
    def run_migrations(self, tenants: Any = None) -> None:
        connection = connections[get_tenant_database_alias()]
        if getattr(connection, "pool", None) is not None:
            connection.close()
            connection.close_pool()  # type: ignore[attr-defined]  # PostgreSQL's only
        super().run_migrations(tenants=tenants)


def get_executor(codename: str | None = None) -> type:
    if (codename or "") == PoolSafeMultiprocessingExecutor.codename:
        return PoolSafeMultiprocessingExecutor
    return tenants_get_executor(codename)  # type: ignore[no-any-return]
