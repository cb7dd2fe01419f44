"""Retention: what each tenant keeps, for how long, and the schedule that prunes the rest.

Each table is pruned by its own writer module (its ``prune_*`` function); this package holds the
windows (``windows.py``), the pass over one tenant (``prune.py``) and the Temporal Schedule
(``schedule.py``). Nothing is imported here, so ``infra.settings`` can import the settings alone.
"""
