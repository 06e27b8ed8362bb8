"""``python -m latentscm`` runs the ``latentscm`` command (also as ``torchrun ... -m latentscm train ...``)."""

from latentscm.cli import main

if __name__ == "__main__":
    main()
