"""Alembic migrations, shipped inside the package so ``tessera db upgrade`` works anywhere."""
