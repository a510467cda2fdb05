"""The update pipeline: metrics around everything, then (after the FSM lock) the record that
makes each update's effects happen once, with its database connection, user and services."""

from trainingbot.middlewares.metrics import UpdateMetricsMiddleware
from trainingbot.middlewares.records import UpdateRecordMiddleware

__all__ = ["UpdateMetricsMiddleware", "UpdateRecordMiddleware"]
