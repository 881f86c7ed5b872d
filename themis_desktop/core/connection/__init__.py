"""Connection profiles and the secrets (tokens) they use."""
