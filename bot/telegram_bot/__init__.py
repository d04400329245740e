"""The Telegram front end: python-telegram-bot handlers over the same operations as the CLI.

``app.build_application`` wires everything; ``bot.cli.run`` is the ``safetybot run`` command.
"""
