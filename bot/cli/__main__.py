"""``python -m bot.cli``: the same as the ``safetybot`` console script."""
import sys

from bot.cli.app import main

sys.exit(main(prog_name="safetybot"))
