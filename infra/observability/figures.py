"""Platform figures read from the database at scrape time, in one round trip.

Gauges: the inbox backlog (deliveries not yet started in Temporal) and the relay lag (how long
the oldest of them has waited), events by status, sessions by status, approvals by state (once
that table exists), the kill switch, and the received -> dispatched latency of the most recent
deliveries. Counters: gateway calls by intent and outcome and circuit-breaker refusals, tallied
from the gateway's audit rows past the last one this process saw (a primary-key range scan;
the first scrape of a process counts them all), so each is monotonic like any counter.

Cost: the backlog and lag use the partial index of pending rows; events by status is one count
over the events table (an index-only scan of ``events_tenant_status``), the latency one look at
the newest ``RECENT`` inbox rows. No tenant id is ever a label: one tenant cannot learn about
another from /metrics, and the number of series stays bounded.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from dataclasses import dataclass, field

import asyncpg
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

log = logging.getLogger(__name__)

RECENT = 1000
TIMEOUT_SECONDS = 5.0
STATUSES = ("received", "dispatched", "ignored", "failed")
_QUERY = f"""
WITH pending AS (SELECT count(*) AS n, min(received_at) AS oldest
                 FROM inbox WHERE relayed_at IS NULL),
recent AS (SELECT extract(epoch FROM e.dispatched_at - i.received_at)::float8 AS s
           FROM (SELECT id, received_at FROM inbox ORDER BY id DESC LIMIT {RECENT}) i
           JOIN events e ON e.inbox_id = i.id WHERE e.status = 'dispatched')
SELECT (SELECT n FROM pending) AS backlog,
       (SELECT COALESCE(extract(epoch FROM now() - oldest), 0)::float8 FROM pending) AS lag,
       (SELECT count(*) FROM inbox) AS deliveries,
       (SELECT COALESCE(json_object_agg(status, n), '{{}}')
        FROM (SELECT status, count(*) AS n FROM events GROUP BY status) s)::text AS events,
       (SELECT COALESCE(json_object_agg(status, n), '{{}}')
        FROM (SELECT status, count(*) AS n FROM sessions GROUP BY status) s)::text AS sessions,
       (SELECT stopped FROM control_state) AS stopped,
       (SELECT json_build_object(
            'n', count(*), 'p50', percentile_cont(0.5) WITHIN GROUP (ORDER BY s),
            'p90', percentile_cont(0.9) WITHIN GROUP (ORDER BY s),
            'p99', percentile_cont(0.99) WITHIN GROUP (ORDER BY s)) FROM recent)::text AS latency,
       (SELECT COALESCE(json_agg(a), '[]') FROM (
            SELECT CASE WHEN detail = 'unknown intent' THEN '(unknown)' ELSE intent END AS intent,
                   outcome,
                   CASE WHEN decision <> 'denied' THEN NULL
                        WHEN detail LIKE '%: stuck agent' THEN 'stuck'
                        WHEN detail LIKE '% per minute%' THEN 'rate'
                        WHEN detail LIKE '% per hour%' THEN 'sync' END AS breaker,
                   count(*) AS n, max(id) AS last
            FROM audit WHERE id > $1 GROUP BY 1, 2, 3) a)::text AS audit,
       to_regclass('approvals') IS NOT NULL AS has_approvals
"""


@dataclass
class PlatformFigures:
    """Reads the figures; keeps this process's running tally of gateway audit rows."""

    pool: asyncpg.Pool
    _last_audit_id: int = 0
    _calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    _refusals: Counter[str] = field(default_factory=Counter)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _approvals_broken: bool = False

    async def collect_or_down(self) -> list[Metric]:
        """The families with ``switchboard_database_up`` 1, or only that gauge at 0 when the
        database does not answer within ``TIMEOUT_SECONDS`` (the process's own counters are
        still scraped: a webhook refused with 503 then is exactly what to see)."""
        up = GaugeMetricFamily("switchboard_database_up",
                               "1 if the database answered this scrape's query, else 0")
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                families = await self.collect()
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
            log.info("metrics: database figures not read: %s", type(err).__name__)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, *families]

    async def collect(self) -> list[Metric]:
        """The metric families, read now (one query; a second only for approvals)."""
        async with self._lock, self.pool.acquire() as conn:
            row = await conn.fetchrow(_QUERY, self._last_audit_id)
            assert row is not None
            for a in json.loads(row["audit"]):
                self._calls[(a["intent"], a["outcome"])] += a["n"]
                if a["breaker"] is not None:
                    self._refusals[a["breaker"]] += a["n"]
                self._last_audit_id = max(self._last_audit_id, a["last"])
            approvals = await self._approvals(conn) if row["has_approvals"] else None
        return self._families(row, approvals)

    async def _approvals(self, conn: asyncpg.Connection) -> dict[str, int] | None:
        # The approvals table comes from another part of issue #16's work; read it only if it
        # has the state column this expects (0022_approvals), and say once if not.
        if self._approvals_broken:
            return None
        try:
            rows = await conn.fetch("SELECT state, count(*) AS n FROM approvals GROUP BY state")
        except asyncpg.PostgresError as err:
            self._approvals_broken = True
            log.warning("metrics: approvals not counted: %s", err)
            return None
        return {r["state"]: r["n"] for r in rows}

    def _families(self, row: asyncpg.Record, approvals: dict[str, int] | None) -> list[Metric]:
        out: list[Metric] = []
        backlog = GaugeMetricFamily("switchboard_inbox_backlog",
                                    "Deliveries stored but not yet started in Temporal")
        backlog.add_metric([], row["backlog"])
        lag = GaugeMetricFamily("switchboard_relay_lag_seconds",
                                "How long the oldest delivery not yet started has waited "
                                "(0 when none waits)")
        lag.add_metric([], row["lag"])
        events = GaugeMetricFamily("switchboard_events", "Deliveries by pipeline status",
                                   labels=["status"])
        by_status: dict[str, int] = json.loads(row["events"])
        by_status["received"] = row["deliveries"] - sum(
            n for s, n in by_status.items() if s != "received")
        for status in STATUSES:
            events.add_metric([status], by_status.get(status, 0))
        stopped = GaugeMetricFamily("switchboard_kill_switch_stopped",
                                    "1 while the kill switch holds every agent, else 0")
        stopped.add_metric([], 1 if row["stopped"] else 0)
        sessions = GaugeMetricFamily("switchboard_sessions", "Agent sessions by status "
                                     "(waiting: idle between turns)", labels=["status"])
        for status, n in sorted(json.loads(row["sessions"]).items()):
            sessions.add_metric([status], n)
        out += [backlog, lag, events, stopped, sessions, self._latency(row)]
        if approvals is not None:
            waiting = GaugeMetricFamily("switchboard_approvals", "Approval requests by state "
                                        "(pending: a run waits on a person)", labels=["state"])
            for state in sorted({"pending", *approvals}):
                waiting.add_metric([state], approvals.get(state, 0))
            out.append(waiting)
        calls = CounterMetricFamily("switchboard_gateway_calls",
                                    "Gateway calls by intent and outcome (ok, error, replayed, "
                                    "refused), from the gateway's audit",
                                    labels=["intent", "outcome"])
        for (intent, outcome), n in sorted(self._calls.items()):
            calls.add_metric([intent, outcome], n)
        refusals = CounterMetricFamily("switchboard_breaker_refusals",
                                       "Gateway writes the circuit breaker refused, by reason "
                                       "(rate, stuck, sync)", labels=["reason"])
        for reason, n in sorted(self._refusals.items()):
            refusals.add_metric([reason], n)
        return [*out, calls, refusals]

    @staticmethod
    def _latency(row: asyncpg.Record) -> Metric:
        latency = GaugeMetricFamily(
            "switchboard_dispatch_latency_seconds",
            f"Received -> dispatched (handed to its agents) over the dispatched deliveries "
            f"among the newest {RECENT}, by quantile", labels=["quantile"])
        figures = json.loads(row["latency"])
        for quantile, key in (("0.5", "p50"), ("0.9", "p90"), ("0.99", "p99")):
            if figures[key] is not None:  # None: no dispatched delivery among the newest
                latency.add_metric([quantile], figures[key])
        return latency
