"""``python -m bot`` is the ``charon`` command."""

from bot.cli import main

main()
