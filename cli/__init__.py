"""The ``switchboard`` command line: the root parser in ``cli.main``, one module per group."""
