"""The mirror's id map on the real database: an echo is known by its id, or, arriving before
the write that made it has its id, by its thread and text (claimed once); a task's thread is
opened by one write only."""

from __future__ import annotations

import uuid

import asyncpg

from infra.mirror import store
from tests.conftest import TenantFactory


async def test_an_echo_before_its_write_returned_is_known_by_thread_and_text(
    pool: asyncpg.Pool, make_tenant: TenantFactory,
) -> None:
    tenant = await make_tenant()
    key = f"mirror/{uuid.uuid4().hex}/clickup_comment"
    await store.begin_write(pool, tenant, "clickup", "86task", key, "U1 on Slack:  hello\n")
    # Not the same thread, not the same text, another provider: new messages.
    assert not await store.is_echo(pool, tenant, "clickup", "c0", "86other", "U1 on Slack: hello")
    assert not await store.is_echo(pool, tenant, "clickup", "c0", "86task", "U1 on Slack: bye")
    assert not await store.is_echo(pool, tenant, "slack", "c0", "86task", "U1 on Slack: hello")
    # ClickUp's webhook of the comment, before the write recorded its id (spacing may differ).
    assert await store.is_echo(pool, tenant, "clickup", "c1", "86task", "U1 on Slack: hello")
    # Claimed once: the same text again under another id is a person's new comment.
    assert not await store.is_echo(pool, tenant, "clickup", "c2", "86task", "U1 on Slack: hello")
    await store.end_write(pool, tenant, key, "c1")  # the write's answer, after its echo
    assert await store.is_echo(pool, tenant, "clickup", "c1", "86task", None)


async def test_one_write_opens_a_tasks_thread(
    pool: asyncpg.Pool, make_tenant: TenantFactory,
) -> None:
    tenant = await make_tenant()
    first = await store.claim_thread(pool, tenant, "86t", "901", "C1", "k-created")
    second = await store.claim_thread(pool, tenant, "86t", "901", "C1", "k-comment")
    assert first.key == second.key == "k-created" and second.thread_ts is None
    await store.thread_opened(pool, tenant, "86t", "k-comment", "1.0")  # not its claim
    opening = await store.thread_of_task(pool, tenant, "86t")
    assert opening is not None and opening.thread_ts is None
    await store.thread_opened(pool, tenant, "86t", "k-created", "1700000000.000100")
    found = await store.task_of_thread(pool, tenant, "C1", "1700000000.000100")
    assert found is not None and found.task_id == "86t"
