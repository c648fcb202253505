"""factory_boy factories of the foundation: tenants and users, made through the services
(so a tenant gets its schema, a user their role's staff flag) inside the current tenant."""

from __future__ import annotations

from typing import Any

import factory

from learning import services
from learning.models import Role, User
from learning.tenancy.models import Tenant


class TenantFactory(factory.Factory):
    """A tenant with its own schema, migrated (slow: a second or more)."""

    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"tenant{n}")
    name = factory.LazyAttribute(lambda o: f"{o.slug.title()} Inc")

    @classmethod
    def _create(cls, model_class: Any, **kwargs: Any) -> Tenant:
        tenant, _ = services.create_tenant(**kwargs)
        return tenant


class UserFactory(factory.Factory):
    """A person of the current tenant; `manager` is a manager's username."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"person{n}")
    role = Role.REP
    password = "a-long-test-password"
    manager = None
    email = ""

    @classmethod
    def _create(cls, model_class: Any, **kwargs: Any) -> User:
        user, _ = services.create_user(
            username=kwargs["username"],
            role=kwargs["role"],
            password=kwargs["password"],
            manager_username=kwargs["manager"],
            email=kwargs["email"],
        )
        return user
