"""``python -m jwtwarden``: the same as the ``jwtwarden`` command."""

from jwtwarden.cli import main

main()
