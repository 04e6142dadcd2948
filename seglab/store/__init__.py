"""The experiment store: run folders, their schema, the shipped reference study."""
