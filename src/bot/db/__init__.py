"""PostgreSQL: the pool, migrations, and one repository per entity (queries only).

Business rules and transactions belong to `trainingbot.services`; the update pipeline
(`trainingbot.middlewares.records`) opens the transaction each update's effects share.
"""

from trainingbot.db.errors import DATABASE_UNAVAILABLE_ERRORS, UpdateNotRecorded, is_unavailable
from trainingbot.db.pool import create_pool

__all__ = [
    "DATABASE_UNAVAILABLE_ERRORS",
    "UpdateNotRecorded",
    "create_pool",
    "is_unavailable",
]
