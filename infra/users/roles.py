"""Roles per tenant, what each may do, and who a caller of the admin API is.

owner > admin > operator > viewer: a viewer reads its tenant; an operator also pauses and
resumes its agents; an admin changes anything in its tenant; an owner also manages members.
The bootstrap super-admin (``SWITCHBOARD_ADMIN_TOKEN``) holds every tenant, and alone creates
tenants and users, sets quotas and flips the global kill switch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal


class Role(StrEnum):
    """A user's role on one tenant."""

    viewer = "viewer"
    operator = "operator"
    admin = "admin"
    owner = "owner"

    @property
    def rank(self) -> int:
        """Higher ranks may do everything lower ones may."""
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what ``needed`` may."""
        return self.rank >= needed.rank


_RANK = {Role.viewer: 0, Role.operator: 1, Role.admin: 2, Role.owner: 3}
SUPER_ADMIN = "super-admin"
BOOTSTRAP_ACTOR = "bootstrap-admin"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the bootstrap super-admin, or a user with roles per tenant.

    ``actor`` and ``role`` (the role on the tenant the request names, if it names one) are what
    an audit record keeps.
    """

    kind: Literal["bootstrap", "user"]
    actor: str
    email: str | None = None
    user_id: str | None = None
    via: Literal["token", "password", "oidc"] = "token"
    roles: Mapping[str, Role] = field(default_factory=dict)
    role: str | None = None

    @property
    def is_bootstrap(self) -> bool:
        """The static admin token: every tenant, never throttled."""
        return self.kind == "bootstrap"

    def role_on(self, tenant_id: str) -> Role | None:
        """This caller's role on a tenant (the super-admin owns them all)."""
        return Role.owner if self.is_bootstrap else self.roles.get(tenant_id)


def bootstrap() -> Principal:
    """The bootstrap super-admin."""
    return Principal(kind="bootstrap", actor=BOOTSTRAP_ACTOR, role=SUPER_ADMIN)


def merge(*grants: Mapping[str, Role]) -> dict[str, Role]:
    """Roles from several sources: the highest per tenant."""
    merged: dict[str, Role] = {}
    for roles in grants:
        for tenant, role in roles.items():
            if tenant not in merged or role.rank > merged[tenant].rank:
                merged[tenant] = role
    return merged
