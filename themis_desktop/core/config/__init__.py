"""Node configuration files: reading, advising on a hop's changes, reloading."""
