"""``python -m latentscm.cli`` runs the ``latentscm`` command."""

from latentscm.cli import main

main()
