"""Stopping, starting and installing a node's service; the installed version."""
