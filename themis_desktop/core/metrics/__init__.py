"""Metrics: sampling nodes, the store, live values, before/after comparison, verdicts."""
