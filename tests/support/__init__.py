"""Helpers shared by the test tiers: real services started on loopback, and the control plane."""
