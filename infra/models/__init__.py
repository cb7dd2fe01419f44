"""The platform's relational tables, described once as SQLModel models: the typed rows.

One module per room, named after it. The migrations (infra/migrations/) create the tables; these
models describe them, and tests/test_models.py proves the two agree on the migrated database
(columns, types, nullability, primary keys), so a migration without its model, or a model edited
without its migration, fails the suite.

Where they are used: the admin API's tenants (infra/directory/tenants.py) and identity links
(infra/directory/projects.py) are created, read, changed and removed through the ``Tenant`` and
``IdentityLink`` models, with statements built from them and run on the asyncpg pool (query.py).
Hot paths stay on asyncpg with hand-written SQL: the webhook group commit, relay claims,
LISTEN/NOTIFY, the routing view, gateway idempotency, breaker locks and vector search, where one
statement or a lock's exact shape is the point.
"""

from __future__ import annotations

from sqlmodel import SQLModel

from infra.models import (
    approvals,
    auth,
    context,
    directory,
    gateway,
    governance,
    inbox,
    migrations,
    mirror,
    sessions,
)

MODULES = (directory, inbox, gateway, governance, context, auth, sessions, approvals, mirror,
           migrations)
METADATA = SQLModel.metadata


def tables() -> dict[str, type[SQLModel]]:
    """Every model by its table name."""
    found: dict[str, type[SQLModel]] = {}
    for module in MODULES:
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, SQLModel) \
                    and value.__module__ == module.__name__ and hasattr(value, "__table__"):
                found[value.__tablename__] = value  # type: ignore[index]
    return found
