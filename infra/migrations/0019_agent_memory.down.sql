-- Undo 0019: agents' core facts and episodic summaries (they are lost).
DROP TABLE agent_memory;
