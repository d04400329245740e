"""`safetybot` commands for the knowledge part (to be filled in)."""
from __future__ import annotations

import click


def register(main: click.Group) -> None:
    """Attach this module's commands to the main group."""
