"""Rollouts across a cluster (rolling, canary, blue-green) and traffic routing."""
