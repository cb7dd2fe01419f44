"""Delegation: an agent hands a sub-task to another agent or alias of its tenant (a child run)."""
