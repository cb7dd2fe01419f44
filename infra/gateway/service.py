"""The gateway: check the grant, take the credential, execute once, scrub, audit.

Every call carries an idempotency key: the first call under a key acts and stores its result;
any later call under it (a retried activity, a repeated HTTP request) gets that result without
acting again. A call whose earlier attempt died mid-flight (state ``running``) acts again: the
gateway cannot know whether the remote saw it, and every executor here is safe to repeat once.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any, Protocol

import asyncpg
from pydantic import BaseModel, ValidationError

from infra import tracing
from infra.approvals import store as approvals
from infra.approvals.gate import ApprovalGate
from infra.approvals.slack import INTERNAL_INTENTS
from infra.directory.agents import ACTIVE, OFFLINE
from infra.gateway import store as store
from infra.gateway.base import ExecutionContext, GatewayError, Intent
from infra.gateway.outcome import Outcome, OutcomeKind
from infra.gateway.reply import REPLY, reply_target
from infra.governance import CircuitBreaker, kill_switch
from infra.settings import GatewaySettings
from infra.vault import SecretStoreError, VaultUnavailable
from workflows.contracts import GatewayCall, GatewayTool

REDACTED = "[redacted]"
# A call held by the kill switch comes back retryable after this: it goes out about this long
# after resume at most.
HOLD_RETRY = timedelta(seconds=1)


StuckHandler = Callable[[str, str, str], Awaitable[None]]
# After a delivered write (first delivery or its replay): the call, its concrete arguments and
# the result (reply.RememberReplies remembers what an agent posted in its thread).
DeliveredHandler = Callable[[GatewayCall, BaseModel, dict[str, Any]], Awaitable[None]]


class CredentialSource(Protocol):
    """Where credentials come from (the vault)."""

    async def get(self, tenant_id: str, name: str) -> str | None:
        """A tenant's secret by name, or None."""


def scrub(value: Any, secrets: list[str]) -> Any:
    """``value`` with every occurrence of a secret replaced, however deeply nested."""
    if isinstance(value, str):
        for secret in secrets:
            if secret:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v, secrets) for v in value]
    return value


class Gateway:
    """Executes intents on behalf of agents, reading their tenant's credentials from the vault.

    Built by infra/services.py in the two processes that may read credentials: the platform
    worker (the gateway activity, for runs) and the API (``/gateway/execute`` and the agent
    socket). Agent workers never hold one: they reach it through the gateway activity.
    """

    def __init__(self, pool: asyncpg.Pool, credentials: CredentialSource,
                 settings: GatewaySettings, intents: Mapping[str, Intent[Any]],
                 on_stuck: StuckHandler | None = None,
                 on_delivered: DeliveredHandler | None = None) -> None:
        self._pool = pool
        self._credentials = credentials
        self._settings = settings
        self.intents = intents
        self._breaker = CircuitBreaker(pool)
        self._on_stuck = on_stuck
        self._on_delivered = on_delivered
        self._approvals = ApprovalGate(pool, settings.approval_timeout_seconds,
                                       lambda c: self.execute(c, "workflow", system=True))

    @property
    def pool(self) -> asyncpg.Pool:
        """The platform database the gateway records its calls in."""
        return self._pool

    @property
    def settings(self) -> GatewaySettings:
        """The gateway's settings (approval timeout, delegation limits)."""
        return self._settings

    async def catalog(self, tenant_id: str, agent_id: str) -> list[GatewayTool]:
        """The intents this agent holds a grant for, with their argument schemas."""
        held = await store.grant_patterns(self._pool, tenant_id, agent_id)
        return [tool(self.intents[name]) for name in sorted(held) if name in self.intents]

    async def execute(self, call: GatewayCall, source: str, *, system: bool = False,
                      workflow_id: str | None = None) -> Outcome:
        """Run one call, traced as a GenAI ``execute_tool`` span with its outcome (never its
        arguments or result): see ``_execute``."""
        with tracing.span(f"execute_tool {call.call.name}", {
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": call.call.name,
            "gen_ai.agent.id": call.agent_id, "switchboard.tenant": call.tenant_id,
            "switchboard.source": source,
        }) as span:
            outcome = await self._execute(call, source, system=system, workflow_id=workflow_id)
            span.set_attribute("switchboard.outcome", outcome.kind.value)
            return outcome

    async def _execute(self, call: GatewayCall, source: str, *, system: bool,
                       workflow_id: str | None) -> Outcome:
        """Run one call; never raises for a refusal or a remote failure (see OutcomeKind).

        ``system`` calls are the platform's own (admin alerts, approval messages): no agent
        grant is needed. A call a grant says needs a person's approval is held (``pending``)
        if it comes from a run (``workflow_id``), refused otherwise (infra/approvals/gate.py).
        Any other call needs a known agent that is not paused (``denied`` otherwise).
        While the kill switch is on, every call is held, system calls included: nothing is sent
        and the outcome is ``held`` (callers retry; it goes out after resume).
        """
        stopped, reason = await kill_switch.is_stopped(self._pool)
        if stopped:
            return Outcome.refused(OutcomeKind.HELD, f"held by the kill switch ({reason})",
                                   HOLD_RETRY)
        started = time.monotonic()
        intent = self.intents.get(call.call.name) or (
            INTERNAL_INTENTS.get(call.call.name) if system else None)
        resource: str | None = None

        async def audit(decision: str, outcome: str, detail: str | None) -> None:
            await store.audit(
                self._pool, tenant_id=call.tenant_id, agent_id=call.agent_id,
                intent=call.call.name, resource=resource, decision=decision, outcome=outcome,
                detail=detail, duration_ms=int((time.monotonic() - started) * 1000),
                idempotency_key=call.idempotency_key, source=source)

        # The agent's status comes with its grants in one query. An agent paused while a run
        # of its was in flight acts no more (issue #12); offline is only presence: it may act.
        caller = None if system else await store.caller_grants(
            self._pool, call.tenant_id, call.agent_id, call.call.name)
        if not system and caller is None:
            await audit("denied", "refused", "unknown agent")
            return Outcome.refused(OutcomeKind.DENIED, (
                f"agent {call.agent_id} is unknown to tenant {call.tenant_id}"))
        if caller is not None and caller.status not in (ACTIVE, OFFLINE):
            await audit("denied", "refused", f"agent {caller.status}")
            return Outcome.refused(OutcomeKind.DENIED,
                                   f"agent {call.agent_id} is {caller.status}")
        if intent is None:
            await audit("denied", "refused", "unknown intent")
            return Outcome.refused(OutcomeKind.INVALID, f"unknown intent {call.call.name!r}")
        if intent.runs_only and workflow_id is None:
            await audit("denied", "refused", "only inside a run")
            return Outcome.refused(OutcomeKind.INVALID, f"{intent.name} works only inside a run")
        try:
            args = intent.args.model_validate(call.call.arguments)
            if intent.name == REPLY:
                intent, args = reply_target(args, call.event, self.intents)
        except (ValidationError, ValueError) as err:
            await audit("denied", "refused", "invalid arguments")
            return Outcome.refused(OutcomeKind.INVALID,
                                   f"invalid arguments for {call.call.name}: {err}")
        resource = intent.resource(args)
        if caller is not None and not store.allows(caller.patterns, resource):
            await audit("denied", "refused", "no matching grant")
            return Outcome.refused(OutcomeKind.DENIED, (
                f"agent {call.agent_id} has no grant for {call.call.name} on {resource}"))
        if caller is not None and caller.approvals:
            held = await self._approvals.check(call, resource, caller.approvals, workflow_id)
            if held is not None:
                if held.pending is None:
                    await audit("denied", "refused", held.error)
                return held
        counted = False
        if intent.writes and not system:
            # Every write counts (issues, tasks, pushes too); only a message can be a duplicate.
            verdict = await self._breaker.check_write(
                call.tenant_id, call.agent_id, intent.name,
                intent.message(args) if intent.message is not None else None,
                key=call.idempotency_key, destination=f"{intent.name}:{resource}")
            counted = verdict.counted
            if not verdict.allowed:
                await audit("denied", "refused", verdict.reason)
                if verdict.stuck and self._on_stuck is not None:
                    await self._on_stuck(call.tenant_id, call.agent_id, verdict.reason or "")
                kind = OutcomeKind.DENIED if verdict.stuck else OutcomeKind.LIMITED
                return Outcome.refused(kind, verdict.reason or "refused by the circuit breaker",
                                       verdict.retry_after)
        outcome = await self._once(call, intent, args, resource, audit)
        if call.approval_id is not None and outcome.kind is OutcomeKind.OK:
            await approvals.mark_applied(self._pool, call.approval_id)
        if (intent.writes and not system and self._on_delivered is not None
                and outcome.result is not None
                and outcome.kind in (OutcomeKind.OK, OutcomeKind.REPLAYED)):
            await self._on_delivered(call, args, outcome.result)
        if counted and outcome.kind is not OutcomeKind.OK:
            # Only what reached the remote counts: a post refused with a 502 and sent again,
            # or elsewhere, is one message, not a stuck agent.
            await self._breaker.uncount_message(call.tenant_id, call.agent_id,
                                                call.idempotency_key)
        return outcome

    async def _once(self, call: GatewayCall, intent: Intent[Any], args: BaseModel,
                    resource: str, audit: Any) -> Outcome:
        """Act under the call's idempotency key: once, or replay what the first call got."""
        prior = await store.claim_call(self._pool, call.tenant_id, call.agent_id,
                                       call.idempotency_key, call.call.name, resource)
        if prior is not None and prior.state != "running":
            await audit("allowed", "replayed", prior.error)
            if prior.error is not None:  # a final failure is final under its key
                return Outcome.refused(OutcomeKind.FAILED, prior.error)
            return Outcome(OutcomeKind.REPLAYED, result=prior.result)
        if prior is not None:
            # An earlier attempt holds the key. Every execution ends within the timeout, so
            # younger than that it may still be acting: wait rather than act twice.
            window = self._settings.timeout_seconds + 5
            wait = window - prior.age_seconds
            if wait > 0 or not await store.take_over_call(
                    self._pool, call.tenant_id, call.agent_id, call.idempotency_key, window):
                return Outcome.refused(
                    OutcomeKind.RETRYABLE,
                    "an earlier attempt with this idempotency key is still running",
                    timedelta(seconds=max(wait, 1)))
        return await self._run(call, intent, args, audit)

    async def _run(self, call: GatewayCall, intent: Intent[Any], args: BaseModel,
                   audit: Any) -> Outcome:
        secret = ""
        if intent.secret is not None:
            try:
                found = await self._credentials.get(call.tenant_id, intent.secret)
            except VaultUnavailable as err:
                await audit("allowed", "error", f"vault unavailable: {err}")
                return Outcome.refused(OutcomeKind.RETRYABLE,
                                       f"the vault is unavailable: {err}")
            except SecretStoreError as err:
                error = f"credential {intent.secret!r} cannot be read: {err}"
                await self._finish(call, None, error)
                await audit("allowed", "error", error)
                return Outcome.refused(OutcomeKind.FAILED, error)
            if found is None:
                error = f"tenant {call.tenant_id} has no secret {intent.secret!r} in the vault"
                await self._finish(call, None, error)
                await audit("allowed", "error", error)
                return Outcome.refused(OutcomeKind.FAILED, error)
            secret = found
        ctx = ExecutionContext(tenant_id=call.tenant_id, agent_id=call.agent_id,
                               credential=secret, settings=self._settings,
                               idempotency_key=call.idempotency_key, event=call.event,
                               pool=self._pool)
        try:
            result = await asyncio.wait_for(intent.execute(args, ctx),
                                            self._settings.timeout_seconds)
        except GatewayError as err:
            message = scrub(err.message, [secret])
            if not err.retryable:
                await self._finish(call, None, message)
            await audit("allowed", "error", message)
            kind = OutcomeKind.RETRYABLE if err.retryable else OutcomeKind.FAILED
            return Outcome.refused(kind, message, err.retry_after)
        except TimeoutError:
            message = f"{intent.name} timed out after {self._settings.timeout_seconds:.0f}s"
            await audit("allowed", "error", message)
            return Outcome.refused(OutcomeKind.RETRYABLE, message)
        clean = scrub(result, [secret])
        await self._finish(call, clean, None)
        await audit("allowed", "ok", None)
        return Outcome(OutcomeKind.OK, result=clean)

    async def _finish(self, call: GatewayCall, result: dict[str, Any] | None,
                      error: str | None) -> None:
        await store.finish_call(self._pool, call.tenant_id, call.agent_id, call.idempotency_key,
                                result=result, error=error)


@functools.cache
def tool(intent: Intent[Any]) -> GatewayTool:
    """An intent as a function the agent's LLM can call (built once per intent)."""
    return GatewayTool(name=intent.name, description=intent.description,
                       parameters=intent.args.model_json_schema())
