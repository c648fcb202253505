"""Tenants, users, tokens and agent keys: every write goes through here."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from learning import credentials, selectors
from learning.errors import InvalidInput, NotFound
from learning.models import STAFF_ROLES, AgentKey, ApiToken, Role, User
from learning.tenancy.context import current_schema_name
from learning.tenancy.models import Tenant, slug_validator


def schema_name_for(slug: str) -> str:
    return "t_" + slug.replace("-", "_")


def create_tenant(*, slug: str, name: str | None = None) -> tuple[Tenant, bool]:
    """Create the tenant and its migrated schema; idempotent (returns `created`).

    A tenant whose schema creation was interrupted is completed on the next call. An
    existing tenant keeps its name (`name` only names a new one; renaming is the ops
    admin's): the caller compares, as `create_tenant` does.
    """
    try:
        slug_validator(slug)
    except ValidationError as exc:
        raise InvalidInput(exc.messages[0], field="slug") from exc
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        tenant = Tenant.objects.filter(slug=slug).first()
        created = tenant is None
        if tenant is None:
            tenant = Tenant(slug=slug, name=name or slug.replace("-", " ").title())
            tenant.schema_name = schema_name_for(slug)
            tenant.save(verbosity=0)  # creates and migrates the schema
        elif not tenant.ready:
            tenant.create_schema(check_if_exists=True, verbosity=0)
        if not tenant.ready:
            tenant.ready = True
            tenant.save(update_fields=["ready"])
    return tenant, created


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str


def _workspace_time_zone() -> str:
    """The current tenant's time zone, where a new person starts (UTC outside a tenant)."""
    schema = current_schema_name()
    zone = Tenant.objects.filter(schema_name=schema).values_list("time_zone", flat=True).first()
    return zone or "UTC"


def create_user(
    *,
    username: str,
    role: str,
    password: str | None = None,
    manager_username: str | None = None,
    email: str = "",
) -> tuple[User, bool]:
    """Create or update a user of the current tenant so that it has exactly these
    attributes; running it twice with the same arguments changes nothing."""
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.", field="role")
    try:
        User.username_validator(username)
    except ValidationError as exc:
        raise InvalidInput(exc.messages[0], field="username") from exc
    manager = None
    if manager_username:
        manager = User.objects.filter(username=manager_username).first()
        if manager is None:
            raise NotFound(f"No user {manager_username!r} in this tenant.", field="manager")
        if manager.role != Role.MANAGER:
            raise InvalidInput(f"{manager_username!r} is not a manager.", field="manager")
    with transaction.atomic():
        user, created = User.objects.select_for_update().get_or_create(
            username=username,
            defaults={"role": role, "email": email, "time_zone": _workspace_time_zone()},
        )
        desired = {
            "role": role,
            "is_staff": role in STAFF_ROLES,
            "is_superuser": role == Role.ADMIN,
        }
        if manager_username is not None:
            desired["manager"] = manager
        if email:
            desired["email"] = email
        changed = [field for field, value in desired.items() if getattr(user, field) != value]
        for field in changed:
            setattr(user, field, desired[field])
        if password is not None and not user.check_password(password):
            user.set_password(password)
            changed.append("password")
        elif created and password is None:
            user.set_unusable_password()
            changed.append("password")
        if changed:
            user.save(update_fields=changed)
    return user, created


def issue_user_token(*, user: User, name: str = "default") -> IssuedToken:
    """The user's active token called `name`, created if missing. The same token comes back
    on every call until it is revoked (or SECRET_KEY changes, which re-issues it)."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        token = ApiToken.objects.filter(user=user, name=name, revoked_at__isnull=True).first()
        if token is not None:
            raw = _derive(token.secret_salt)
            if token.digest == credentials.digest(raw):
                return IssuedToken(token=token, raw=raw)
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
        salt = credentials.new_salt()
        raw = _derive(salt)
        token = ApiToken.objects.create(
            user=user,
            name=name,
            secret_salt=salt,
            digest=credentials.digest(raw),
            prefix=credentials.display_prefix(raw),
        )
    return IssuedToken(token=token, raw=raw)


def _derive(salt: str) -> str:
    return credentials.derive_user_token(
        secret_key=settings.SECRET_KEY, schema_name=current_schema_name(), salt=salt
    )


def revoke_user_tokens(*, user: User) -> int:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def create_agent_key(*, name: str) -> tuple[AgentKey, str]:
    """A new agent key; the raw key is returned once and never stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("Give the key a name of 1-100 characters.", field="name")
    raw = credentials.new_agent_key()
    key = AgentKey.objects.create(
        name=name, digest=credentials.digest(raw), prefix=credentials.display_prefix(raw)
    )
    return key, raw


def revoke_agent_keys(*, name: str | None = None, prefix: str | None = None) -> int:
    """Revoke the active keys with this name or display prefix; returns how many."""
    if not name and not prefix:
        raise InvalidInput("Name the key or give its prefix.", field="name")
    if prefix is not None and len(prefix) != credentials.DISPLAY_PREFIX_LENGTH:
        raise InvalidInput(
            "Give the key's whole prefix, as shown in admin (e.g. llk_AbCdEf).", field="prefix"
        )
    keys = AgentKey.objects.filter(revoked_at__isnull=True)
    if name:
        keys = keys.filter(name=name)
    if prefix:
        keys = keys.filter(prefix=prefix)
    with transaction.atomic():  # the revocation and the version bump commit together
        revoked = keys.update(revoked_at=timezone.now())
        selectors.after_revocation()
    return revoked
