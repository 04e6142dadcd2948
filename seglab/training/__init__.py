"""Training: the engine, what it writes through, speed settings, devices and threads."""
