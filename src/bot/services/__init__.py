"""Business rules of training, one module per domain. Services own the rules and write through
the update's connection (its transaction is opened by the update pipeline); pure rules live in
modules of their own (`spaced`, `progress`) and are tested without a database.
"""
