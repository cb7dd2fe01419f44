"""Tests of the agent runtime (workers/)."""
