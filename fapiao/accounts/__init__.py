"""Accounts: organisations, users, memberships and roles, API keys, 2FA, password resets, audit log.

Relational (SQLAlchemy 2.x; SQLite by default, PostgreSQL in docker-compose), schema by the alembic
migrations under `migrations/versions`. Use cases are plain synchronous functions over an
`AccountsContext`; the API runs them in its thread pool.
"""
