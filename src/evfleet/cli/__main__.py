"""``python -m evfleet.cli``: the same as the ``evfleet`` command."""

from evfleet.cli import main

main()
