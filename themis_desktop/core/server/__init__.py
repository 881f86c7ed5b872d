"""The ThemisDB HTTP client, its answers' models and what a node's state is."""
