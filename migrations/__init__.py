"""Alembic migrations of the bot's schema, shipped as `trainingbot_migrations`.

The schema exists only through these migrations (`training-bot migrate`); the bot never
creates tables. `trainingbot.db.migrate` points alembic at this package's directory, so the
same files run from a source tree, a wheel and the container image.
"""
