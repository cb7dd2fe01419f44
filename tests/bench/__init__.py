"""Benchmarks run by ``python -m tests.bench``: webhook acknowledgement and event-to-think latency.

Not a test package: nothing here is named ``test_*`` and performance is never asserted by pytest.
"""
