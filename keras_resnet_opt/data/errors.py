"""The one exception type for bad or missing data."""


class DataError(ValueError):
    """Raised when CIFAR-10 cannot be read; the message names the file and the fix."""
