"""User-facing errors (torch-free, so every step can catch them without importing torch)."""


class CheckpointRefused(ValueError):
    """The file holds something other than what the loader allows."""
