"""The mirror's writes: each counted as a sync event of its project, then made by the gateway.

A write goes through the gateway as a system call (no agent grant; the credential from the
vault, an audit row, the idempotency key making a retry one effect) after the circuit breaker
counted it against the project's sync events per hour. Over the limit nothing is sent: the
write comes back ``wait`` with the time the breaker gave, and the caller (MirrorWorkflow) waits
durably and asks again; the over-limit alert is handed back once per project and hour.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from infra.gateway.outcome import Outcome, OutcomeKind
from infra.gateway.service import Gateway
from infra.governance import CircuitBreaker
from infra.mirror import store
from workflows.contracts import AlertInput, GatewayCall, ToolCall
from workflows.contracts.mirror import MirrorWrite, MirrorWriteResult

MIRROR_AGENT = "mirror"  # who the audit names for the mirror's gateway calls
ALERT_KIND = "mirror_sync_limit"
# A reply waiting for its thread's root (posted by another event's write) asks again after at
# most this; the workflow's backoff starts far lower.
THREAD_WAIT = timedelta(minutes=5)


class MirrorRetry(Exception):
    """The gateway could not act now (remote 429/5xx, vault away, kill switch): try again."""

    def __init__(self, message: str, retry_after: timedelta | None, *, held: bool) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.held = held


def _wait(seconds: float, reason: str) -> MirrorWriteResult:
    return MirrorWriteResult(status="wait", wait_seconds=max(seconds, 1.0), reason=reason)


class MirrorWriter:
    """Makes one mirror write: sync limit, gateway, id map."""

    def __init__(self, pool: asyncpg.Pool, gateway: Gateway) -> None:
        self._pool = pool
        self._gateway = gateway
        self._breaker = CircuitBreaker(pool)

    async def write(self, w: MirrorWrite) -> MirrorWriteResult:
        """Make ``w`` once (raises MirrorRetry for a passing failure)."""
        if w.action == "open_thread":
            return await self._open_thread(w)
        if w.action == "slack_reply":
            thread = await store.thread_of_task(self._pool, w.tenant_id, w.task_id)
            if thread is None:
                return MirrorWriteResult(status="failed", reason=f"task {w.task_id} has no thread")
            if thread.thread_ts is None:
                return _wait(THREAD_WAIT.total_seconds(), "the task's thread is being opened")
            return await self._send(w, "slack", "slack_reply", {
                "channel": thread.channel, "thread_ts": thread.thread_ts, "text": w.text})
        return await self._send(w, "clickup", "clickup_comment",
                                {"task_id": w.task_id, "text": w.text})

    async def _open_thread(self, w: MirrorWrite) -> MirrorWriteResult:
        thread = await store.claim_thread(self._pool, w.tenant_id, w.task_id, w.list_id,
                                          w.channel, w.key)
        if thread.key != w.key:
            if thread.thread_ts is None:
                return _wait(THREAD_WAIT.total_seconds(), "another event is opening the thread")
            return MirrorWriteResult(status="done", external_id=thread.thread_ts,
                                     reason="the thread was opened by another event")
        if thread.thread_ts is not None:  # this write's own earlier attempt
            return MirrorWriteResult(status="done", external_id=thread.thread_ts)
        limited = await self._limited(w)
        if limited is not None:
            return limited
        outcome = await self._call(w, "slack_post_message", {"channel": w.channel, "text": w.text})
        if outcome.result is None:
            await store.release_thread(self._pool, w.tenant_id, w.task_id, w.key)
            return MirrorWriteResult(status="failed", reason=outcome.error)
        ts = str(outcome.result["ts"])
        await store.thread_opened(self._pool, w.tenant_id, w.task_id, w.key, ts)
        return MirrorWriteResult(status="done", external_id=ts)

    async def _send(self, w: MirrorWrite, provider: str, intent: str,
                    arguments: dict[str, str]) -> MirrorWriteResult:
        limited = await self._limited(w)
        if limited is not None:
            return limited
        # Recorded before it goes out: an echo arriving before the answer is known by its text.
        await store.begin_write(self._pool, w.tenant_id, provider, w.task_id, w.key, w.text)
        outcome = await self._call(w, intent, arguments)
        if outcome.result is None:
            return MirrorWriteResult(status="failed", reason=outcome.error)
        made = str(outcome.result["ts"] if provider == "slack" else outcome.result["id"])
        await store.end_write(self._pool, w.tenant_id, w.key, made)
        return MirrorWriteResult(status="done", external_id=made)

    async def _limited(self, w: MirrorWrite) -> MirrorWriteResult | None:
        """None when the project may sync one more event now (it is counted, once per key)."""
        verdict = await self._breaker.check_sync_event(w.tenant_id, w.project_id, key=w.key)
        if verdict.allowed:
            return None
        wait = (verdict.retry_after or timedelta(minutes=1)).total_seconds()
        result = _wait(wait, verdict.reason or "over the project's sync limit")
        subject = f"project {w.project_id} {datetime.now(UTC):%Y-%m-%dT%H}h"
        if not await store.alert_raised(self._pool, w.tenant_id, ALERT_KIND, subject):
            result.alert = AlertInput(
                tenant_id=w.tenant_id, kind=ALERT_KIND, subject=subject,
                detail=f"mirror of list {w.list_id} and channel {w.channel}: {verdict.reason};"
                       " its writes wait and go out when the limit allows")
        return result

    async def _call(self, w: MirrorWrite, intent: str, arguments: dict[str, str]) -> Outcome:
        """Through the gateway; a result, a final failure, or MirrorRetry."""
        outcome = await self._gateway.execute(GatewayCall(
            tenant_id=w.tenant_id, agent_id=MIRROR_AGENT, idempotency_key=w.key,
            call=ToolCall(id=w.key, name=intent, arguments=dict(arguments))),
            source="mirror", system=True)
        if outcome.kind in (OutcomeKind.OK, OutcomeKind.REPLAYED):
            return outcome
        if outcome.kind in (OutcomeKind.HELD, OutcomeKind.RETRYABLE, OutcomeKind.LIMITED):
            raise MirrorRetry(outcome.error or outcome.kind, outcome.retry_after,
                              held=outcome.kind is OutcomeKind.HELD)
        return outcome
