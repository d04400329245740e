"""The ``safetybot`` command line (entry point ``bot.cli:main``)."""
from __future__ import annotations

import sys

from bot.cli.app import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
