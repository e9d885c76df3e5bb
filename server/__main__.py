"""``python -m server …``: the same as the ``perforch`` command."""

from server.cli.main import main

main()
