"""Which role each admin route needs: one table, applied by ``api.deps.require_admin``.

Routes without ``{tenant_id}`` (tenants, users, usage across tenants, the global kill switch)
are the bootstrap super-admin's alone. On a tenant's routes: reading needs viewer; pausing or
resuming an agent (a PATCH that changes only ``status``), starting a run by hand and firing a
schedule now need operator; members need owner; the tenant's API quota (its plan) stays the
super-admin's; every other write needs admin.
A caller with no role on the tenant is answered as if the tenant did not exist (404).
Replaying events is such a write (admin). There is no per-tenant kill switch yet: the kill
switch stays global, so it stays the super-admin's.
"""

from __future__ import annotations

from typing import Any

from infra.users.roles import Role

_READ = frozenset({"GET", "HEAD"})
_PAUSE = "/admin/tenants/{tenant_id}/agents/{agent_id}"
_SUPER_ADMIN_ONLY = frozenset({("PUT", "/admin/tenants/{tenant_id}/quota")})
# Starting a run by hand or firing a schedule now: an operator's work (issue #15).
_OPERATOR_POSTS = frozenset({
    "/admin/tenants/{tenant_id}/agents/{agent_id}/runs",
    "/admin/tenants/{tenant_id}/agents/{agent_id}/schedules/{schedule_id}/trigger"})


def required_role(method: str, path: str, body: Any) -> Role | None:
    """The least role on the path's tenant this request needs; None: the super-admin only."""
    if "{tenant_id}" not in path or (method, path) in _SUPER_ADMIN_ONLY:
        return None
    if "/members" in path:
        return Role.admin if method in _READ else Role.owner
    if method in _READ:
        return Role.viewer
    if method == "PATCH" and path == _PAUSE and isinstance(body, dict) and set(body) <= {"status"}:
        return Role.operator
    if method == "POST" and path in _OPERATOR_POSTS:
        return Role.operator
    return Role.admin
