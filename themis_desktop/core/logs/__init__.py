"""Server logs: following sources, parsing lines, the log watch of an upgrade."""
