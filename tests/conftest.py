"""Suite-wide fixtures: databases (SQLite always, PostgreSQL when reachable), app, SMTP sinks."""

import os

from hypothesis import settings

pytest_plugins = [
    "tests.support.secret_audit",
    "tests.support.databases",
    "tests.support.api",
    "tests.support.smtp_sink",
    "tests.support.webhook_receiver",
    "tests.support.clock",
]

# Property tests must not fail on how busy the machine is: no per-example deadline. In CI the
# examples are derived from each test (the same ones every run); elsewhere they vary.
settings.register_profile("mailsage", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else "mailsage")
