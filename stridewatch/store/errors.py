"""The store's one error type."""


class StoreError(RuntimeError):
    """The store cannot be used (unreachable, missing driver, or written by a newer release)."""
