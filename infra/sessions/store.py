"""Sessions and their turns: the one writer of the sessions and session_turns tables.

SessionWorkflow is the truth about a session; these rows are its readable copy for the admin
API, written by local activities as the workflow moves (a retried write lands the same row:
every write is an upsert keyed by the session id and turn).
"""

from __future__ import annotations

import asyncpg

from workflows.contracts.conversation import ConversationTurn
from workflows.contracts.sessions import SessionRecord, SessionSettings


async def record_session(pool: asyncpg.Pool | asyncpg.Connection, rec: SessionRecord) -> None:
    """Create the session's row or bring it to ``rec`` (closed_at set once, when closed)."""
    await pool.execute(
        """INSERT INTO sessions (id, tenant_id, agent_id, thread, workflow_id, status, turns,
                                 summary, closed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $6 = 'closed' THEN now() END)
           ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, turns = EXCLUDED.turns,
               summary = EXCLUDED.summary, updated_at = now(),
               closed_at = COALESCE(sessions.closed_at, EXCLUDED.closed_at)""",
        rec.session_id, rec.tenant_id, rec.agent_id, rec.thread, rec.workflow_id, rec.status,
        rec.turns, rec.summary)


async def record_turn(pool: asyncpg.Pool | asyncpg.Connection, session_id: str,
                      turn: ConversationTurn) -> None:
    """Create or update one turn's row (finished_at set when it is no longer running)."""
    # Python values: the pool's jsonb codec encodes them (a json.dumps'd text became a jsonb
    # string, which the API could not read as a list).
    messages = [m.model_dump(mode="json") for m in turn.messages]
    tools = [t.model_dump(mode="json") for t in turn.tool_calls]
    await pool.execute(
        """INSERT INTO session_turns (session_id, turn, messages, answer, tool_calls, status,
                                      finished_at)
           VALUES ($1, $2, $3::jsonb, $4, $5::jsonb, $6,
                   CASE WHEN $6 = 'running' THEN NULL ELSE now() END)
           ON CONFLICT (session_id, turn) DO UPDATE SET messages = EXCLUDED.messages,
               answer = EXCLUDED.answer, tool_calls = EXCLUDED.tool_calls,
               status = EXCLUDED.status, finished_at = EXCLUDED.finished_at""",
        session_id, turn.turn, messages, turn.answer, tools, turn.status)


async def agent_settings(pool: asyncpg.Pool, tenant_id: str, agent_id: str) -> SessionSettings:
    """An agent's session settings (defaults for an agent the tenant no longer has)."""
    row = await pool.fetchrow(
        "SELECT sessions, session_policy, session_debounce_ms, session_max_wait_ms,"
        " session_idle_seconds, session_summary_every FROM agents WHERE tenant_id = $1"
        " AND id = $2", tenant_id, agent_id)
    if row is None:
        return SessionSettings()
    return SessionSettings(enabled=row["sessions"], policy=row["session_policy"],
                           debounce_ms=row["session_debounce_ms"],
                           max_wait_ms=row["session_max_wait_ms"],
                           idle_seconds=row["session_idle_seconds"],
                           summary_every=row["session_summary_every"])
