"""Pipeline activities on the inbox: normalize a stored delivery, record what became of it."""

from __future__ import annotations

import json

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.normalize import normalize
from infra.store.inbox import load_delivery, record_event
from workflows.contracts import NormalizeInput, NormalizeOutput, Provider, RecordOutcomeInput


class EventActivities:
    """Activities that read and write the inbox and events tables."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="normalize_event")
    async def normalize_event(self, inp: NormalizeInput) -> NormalizeOutput:
        """Turn the stored raw delivery into a StandardEvent."""
        row = await load_delivery(self._pool, inp.inbox_id)
        if row is None:
            raise ApplicationError(
                f"inbox row {inp.inbox_id} does not exist", type="UnknownDelivery",
                non_retryable=True,
            )
        try:
            payload = json.loads(row["body"])
            event = normalize(Provider(row["provider"]), row["tenant_id"], payload,
                              row["event_name"])
        except Exception as exc:  # a payload we cannot read will not improve on retry
            raise ApplicationError(
                f"cannot normalize {row['provider']} {row['event_name']}: {exc}",
                type="MalformedDelivery", non_retryable=True,
            ) from exc
        return NormalizeOutput(event=event)

    @activity.defn(name="record_outcome")
    async def record_outcome(self, inp: RecordOutcomeInput) -> None:
        """Write the event row's status, kind, agents and outcomes."""
        await record_event(
            self._pool, inp.inbox_id, inp.status,
            kind=inp.kind.value if inp.kind else None,
            reason=inp.reason,
            event=inp.event.model_dump(mode="json") if inp.event else None,
            agent_ids=inp.agent_ids,
            outcomes=[o.model_dump(mode="json") for o in inp.outcomes],
        )
