"""Training recipes and voice construction (needs the `train` extra: torch)."""
