"""Suite-wide fixtures: databases (SQLite always, PostgreSQL when reachable), app, SMTP sinks."""

pytest_plugins = [
    "tests.support.secret_audit",
    "tests.support.databases",
    "tests.support.api",
    "tests.support.smtp_sink",
    "tests.support.webhook_receiver",
    "tests.support.clock",
]
