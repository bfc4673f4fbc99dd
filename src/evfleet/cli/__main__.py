"""``python -m evfleet.cli``: the same as the ``evfleet`` command."""

from evfleet.cli.core import main

main()
