"""The kopf entry module: importing it registers every handler (`kopf run -m` this)."""

from trainingbot_operator.handlers import children, lifecycle, reconcile, references

__all__ = ["children", "lifecycle", "reconcile", "references"]
