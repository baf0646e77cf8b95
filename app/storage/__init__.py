"""Everything that speaks SQL: models, the engine, and named queries (repositories).

The same code runs on SQLite (the embedded default) and PostgreSQL; any difference between the
two stays inside this package.
"""
