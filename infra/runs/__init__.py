"""Runs: manual and scheduled agent runs, and the record of every run (Temporal visibility)."""
