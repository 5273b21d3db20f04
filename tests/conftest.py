"""Suite-wide fixtures: databases (SQLite always, PostgreSQL when reachable) and SMTP sinks."""

pytest_plugins = ["tests.support.smtp_sink"]
