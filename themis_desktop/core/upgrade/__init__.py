"""Upgrade sessions: hops, their steps, rollback, the rollback window, the report."""
