"""What a repository needs from asyncpg: a connection, or a pool for one-statement reads."""

from __future__ import annotations

import asyncpg

Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy | asyncpg.Pool
