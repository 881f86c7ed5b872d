"""Themis Desktop: the upgrade console for ThemisDB."""

# The app's one version: pyproject.toml reads it from here ([tool.setuptools.dynamic]), the
# CLI's --version, the About box and the PyInstaller bundle print it. Keep it a plain literal.
__version__ = "0.1.0"
