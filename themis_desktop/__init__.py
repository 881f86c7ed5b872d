"""Themis Desktop: the upgrade console for ThemisDB."""

import logging

# Modules log with `logging.getLogger(__name__)`; the app's file handler is added by
# `core.util.logging_setup.setup_logging` (GUI and CLI start). Without it, nothing is printed.
logging.getLogger(__name__).addHandler(logging.NullHandler())

# The app's one version: pyproject.toml reads it from here ([tool.setuptools.dynamic]), the
# CLI's --version, the About box and the PyInstaller bundle print it. Keep it a plain literal.
__version__ = "0.1.0"
