"""Alembic migrations of the session store (one set for SQLite and PostgreSQL).

Run by ``stridewatch.store.database`` when a store is opened; shipped inside the package so a
non-editable install can upgrade a database. Released revisions are never edited: a schema
change is a new revision file in ``versions/`` (and the matching change in ``schema.py``).
"""
