"""Alembic revision files of the session store (not imported as modules)."""
