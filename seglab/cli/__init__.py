"""``python -m seglab``: the command-line interface."""
