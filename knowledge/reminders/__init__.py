"""Reminders of the hazard ledger: what to remind, whom and when (no chat platform in here).

``messages`` is the platform-neutral content a channel renders; the planner and the delivery outbox
are built on it.
"""
