"""Delivery channels: where a ``Reminder`` is rendered and sent (Telegram first; group robots of
企业微信, 钉钉 and 飞书 next). A channel only delivers: what to send is decided in
``knowledge.reminders``, and exactly-once is the outbox's job, not the channel's."""
