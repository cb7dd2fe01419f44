"""Sessions: an agent's conversation on one thread (workflows/session.py), recorded for the API
(infra/sessions/store.py is the one writer of ``sessions`` and ``session_turns``)."""
