"""stridewatch: the app layer (command line, file inputs, live view, reports, session store)."""

from __future__ import annotations


def software_version() -> str:
    """The installed stridewatch version, or a note that this checkout is not installed."""
    from importlib import metadata

    try:
        return metadata.version("stridewatch")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"
