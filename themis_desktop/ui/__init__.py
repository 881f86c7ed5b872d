"""The Qt layer: thin widgets over `themis_desktop.core`."""
