"""The release catalogue, its known issues, upgrade paths, the server's update check."""
