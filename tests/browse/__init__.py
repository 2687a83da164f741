"""browse."""
