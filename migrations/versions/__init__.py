"""Revisions, oldest first; each one hand-written with a working downgrade."""
