"""Migration guides: reading, checking, rendering, steps and live checklists."""
