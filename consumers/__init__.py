"""consumers layer."""
