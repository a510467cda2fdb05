"""Inline keyboards (pure functions of content and progress) and their callback data."""
