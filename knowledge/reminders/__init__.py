"""Reminders of the hazard ledger: what to remind, whom and when (no chat platform in here).

- ``messages``: the platform-neutral content a channel renders (``Reminder`` and friends);
- ``planner.plan_day(sessions, settings, day) -> DayPlan``: the day's reminders, read-only;
- ``escalation.record_escalations(session, reminders)``: the dispatcher records fired levels;
- ``links``: destinations of units' digests and undeliverable destinations;
- ``service.ReminderService(ledger)``: group links, 已知悉, undeliverable marks (with permissions).

Import the submodules directly; this package module imports nothing so that the ledger can use
``reminders.models`` without a cycle.
"""
