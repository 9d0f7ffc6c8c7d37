"""User-facing errors (torch-free, so every step can catch them without importing torch)."""


class CheckpointRefused(ValueError):
    """The file holds something other than what the loader allows."""


class DownloadError(RuntimeError):
    """The server answered, but what arrived is not the file we asked for."""


class MnistUnavailable(RuntimeError):
    """The requested MNIST source cannot provide the data."""
