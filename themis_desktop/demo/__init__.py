"""The demo instance: a ThemisDB-compatible server for demo mode and tests."""
