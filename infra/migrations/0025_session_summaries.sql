-- Sessions (issue #14 part 4): a long session leaves an episodic summary in the agent's memory
-- every N turns, not only when it closes. 0: only at close. Read by infra/sessions/store.py.
ALTER TABLE agents ADD COLUMN session_summary_every integer NOT NULL DEFAULT 20
    CHECK (session_summary_every >= 0);
