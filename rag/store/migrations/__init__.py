"""Alembic migrations of the radrag database."""
