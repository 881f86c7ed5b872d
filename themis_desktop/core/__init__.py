"""The domain, free of Qt: usable from the GUI, the command line and tests."""
