"""The bot as a long-running process: operations server, webhook or polling, graceful shutdown.

`app.main()` is `training-bot run`. The parts are separate so that tests can run any of them
in-process: `ops.OpsServer` (health, readiness, metrics), `webhook.WebhookServer`,
`polling.Poller`, and `updates.UpdateProcessor`, which handles one update and says whether it
may be confirmed to Telegram.
"""
