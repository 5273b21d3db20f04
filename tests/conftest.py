"""Suite-wide fixtures: databases (SQLite always, PostgreSQL when reachable), app, SMTP sinks."""

from pathlib import Path

pytest_plugins = ["tests.support.databases", "tests.support.api"]
if (Path(__file__).parent / "support" / "smtp_sink.py").exists():  # TEMP until the sink lands
    pytest_plugins.append("tests.support.smtp_sink")
