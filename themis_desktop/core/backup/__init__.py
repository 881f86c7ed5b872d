"""Verified backups of a node: archive format, catalogue, restore, restore points."""
