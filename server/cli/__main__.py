"""``python -m server.cli`` runs the perforch command."""

from .main import main

main()
