"""``python -m seglab …`` runs the command-line interface."""

from seglab.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
