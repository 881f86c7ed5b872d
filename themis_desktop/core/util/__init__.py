"""Small helpers shared by the features: files, paths, formatting, parsing bounds."""
