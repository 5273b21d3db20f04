"""Settings.from_env: parsing of every kind of value, defaults, and refusals naming the variable."""

from __future__ import annotations

import dataclasses

import pytest

from mailsage_gql.errors import ConfigurationError
from mailsage_gql.settings import DEFAULT_DATABASE_URL, Settings


def test_empty_environment_gives_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()


def test_default_database_is_embedded_sqlite() -> None:
    settings = Settings.from_env({})

    assert (settings.database_url, settings.dialect, settings.embedded) == (
        DEFAULT_DATABASE_URL,
        "sqlite",
        True,
    )


@pytest.mark.parametrize(
    ("variable", "raw", "field", "expected"),
    [
        ("MAILSAGE_PORT", "9000", "port", 9000),
        ("MAILSAGE_SMTP_CONNECT_TIMEOUT", "2.5", "smtp_connect_timeout", 2.5),
        ("MAILSAGE_GRAPHIQL", "false", "graphiql", False),
        ("MAILSAGE_GRAPHIQL", "YES", "graphiql", True),
        ("MAILSAGE_ALLOW_PRIVATE_SMTP_HOSTS", "0", "allow_private_smtp_hosts", False),
        ("MAILSAGE_RETRY_SCHEDULE", "1, 2.5,,10", "retry_schedule", (1.0, 2.5, 10.0)),
        (
            "MAILSAGE_CORS_ORIGINS",
            "https://a.test, https://b.test",
            "cors_origins",
            ("https://a.test", "https://b.test"),
        ),
        ("MAILSAGE_HOST", "0.0.0.0", "host", "0.0.0.0"),
    ],
)
def test_variable_is_parsed_into_its_field(
    variable: str, raw: str, field: str, expected: object
) -> None:
    settings = Settings.from_env({variable: raw})

    assert getattr(settings, field) == expected


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("MAILSAGE_PORT", "eighty"),
        ("MAILSAGE_GRAPHQL_MAX_DEPTH", "1.5"),
        ("MAILSAGE_SMTP_CONNECT_TIMEOUT", "soon"),
        ("MAILSAGE_GRAPHIQL", "maybe"),
        ("MAILSAGE_RETRY_SCHEDULE", "1,two"),
    ],
)
def test_unparsable_value_is_refused_naming_the_variable(variable: str, raw: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        Settings.from_env({variable: raw})


def test_unknown_env_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="MAILSAGE_ENV"):
        Settings.from_env({"MAILSAGE_ENV": "staging"})


def test_unknown_database_scheme_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="MAILSAGE_DATABASE_URL"):
        Settings.from_env({"MAILSAGE_DATABASE_URL": "mysql://db/mailsage"})


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_postgres_urls_select_the_postgres_dialect(scheme: str) -> None:
    settings = Settings.from_env({"MAILSAGE_DATABASE_URL": f"{scheme}://u@h/db"})

    assert (settings.dialect, settings.embedded, settings.sqlite_path) == ("postgres", False, None)


def test_overrides_win_over_the_environment() -> None:
    settings = Settings.from_env({"MAILSAGE_PORT": "9000"}, port=9100)

    assert settings.port == 9100


def test_unrelated_variables_are_ignored() -> None:
    assert Settings.from_env({"PORT": "1", "MAILSAGE_NOT_A_FIELD": "x"}) == Settings()


def test_production_turns_off_graphiql_and_introspection_by_default() -> None:
    settings = Settings.from_env({"MAILSAGE_ENV": "production"})

    assert (settings.graphiql_enabled, settings.introspection_enabled) == (False, False)


def test_production_can_turn_introspection_back_on() -> None:
    settings = Settings.from_env({"MAILSAGE_ENV": "production", "MAILSAGE_INTROSPECTION": "1"})

    assert settings.introspection_enabled is True


def test_production_sqlite_is_not_embedded() -> None:
    assert Settings.from_env({"MAILSAGE_ENV": "production"}).embedded is False


def test_key_file_sits_beside_the_sqlite_database() -> None:
    settings = Settings.from_env({"MAILSAGE_DATABASE_URL": "sqlite:///var/lib/ms/data.db"})

    assert str(settings.secret_key_file) == "/var/lib/ms/data.db.key"


def test_private_smtp_hosts_follow_embedded_unless_set() -> None:
    embedded = Settings.from_env({})
    server = Settings.from_env({"MAILSAGE_DATABASE_URL": "postgres://u@h/db"})

    assert (embedded.private_smtp_hosts_allowed, server.private_smtp_hosts_allowed) == (
        True,
        False,
    )


def test_secret_key_is_not_in_the_repr() -> None:
    settings = Settings.from_env({"MAILSAGE_SECRET_KEY": "c2VjcmV0LWtleS12YWx1ZQ=="})

    assert "c2VjcmV0LWtleS12YWx1ZQ" not in repr(settings)


def test_every_field_is_documented_in_the_configuration_guide() -> None:
    from pathlib import Path

    guide = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()

    missing = [
        f"MAILSAGE_{f.name.upper()}"
        for f in dataclasses.fields(Settings)
        if f"MAILSAGE_{f.name.upper()}" not in guide
    ]
    assert missing == []
