"""The GUI's dialogs."""
