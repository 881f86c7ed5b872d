"""Themis Desktop: the upgrade console for ThemisDB."""

__version__ = "0.1.0"
