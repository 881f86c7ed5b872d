"""The GUI's models: the workspace and one per feature (Qt, no widgets)."""
