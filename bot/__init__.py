"""Front ends: the command line, the terminal chat and (later) Telegram."""
