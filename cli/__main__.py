"""``python -m cli``: how ``switchboard up`` starts its API, worker and agent children."""

from __future__ import annotations

import sys

from cli.main import main

sys.exit(main())
