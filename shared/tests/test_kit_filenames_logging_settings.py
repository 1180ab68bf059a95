"""Small kit pieces: file names, redaction, JSON logs, production settings guards."""

import io
import json
import logging

import pytest
from pydantic import SecretStr, ValidationError

from folio.filenames import content_disposition, display_filename
from folio.logging import configure_logging, redact, request_id_var
from folio.settings import DatabaseSettings, ServiceSettings


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\book.txt", "book.txt"),
        ("bad\x00name\x1f.txt", "badname.txt"),
        ("", "upload"),
        (None, "upload"),
        ("..", "upload"),
    ],
)
def test_display_filename_keeps_only_a_clean_last_component(raw, expected):
    assert display_filename(raw) == expected


def test_display_filename_trims_long_names_keeping_the_extension():
    name = display_filename("a" * 500 + ".epub")
    assert len(name) <= 200 and name.endswith(".epub")


def test_content_disposition_ascii_and_unicode():
    assert (
        content_disposition("book_translated.txt") == 'attachment; filename="book_translated.txt"'
    )
    header = content_disposition("소설_translated.txt")
    assert header.startswith('attachment; filename="translated.txt"')
    assert "filename*=UTF-8''%EC%86%8C%EC%84%A4_translated.txt" in header
    assert content_disposition('evil"\r\nX: y.txt').isascii()
    assert "\r" not in content_disposition('evil"\r\nX: y.txt')


@pytest.mark.parametrize(
    "secret_text",
    [
        "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.payload.signature",
        "calling https://x/?key=AIzaSyA1234567890abcdefghijklmnop",
        "api_key=sk-abcdefghijklmnopqrstuvwx",
        "amqp://guest:supersecret@rabbit:5672/",
    ],
)
def test_redact_removes_credentials(secret_text):
    cleaned = redact(secret_text)
    for needle in ("eyJhbGciOiJSUzI1NiJ9.payload", "AIzaSyA123", "sk-abcdefghij", "supersecret"):
        assert needle not in cleaned


def test_json_logs_carry_service_request_id_and_no_secrets(capsys):
    configure_logging("test-service", "INFO", "json")
    stream = io.StringIO()
    logging.getLogger().handlers[0].stream = stream  # type: ignore[attr-defined]
    token = request_id_var.set("req-12345678")
    try:
        logging.getLogger("x").info("token is %s", "Bearer abcdefghijklmnopqrstuvwxyz")
    finally:
        request_id_var.reset(token)
    record = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert record["service"] == "test-service"
    assert record["request_id"] == "req-12345678"
    assert record["level"] == "INFO"
    assert "abcdefghijklmnop" not in record["message"]


def test_production_refuses_default_broker_credentials():
    with pytest.raises(ValidationError, match="guest"):
        ServiceSettings(environment="production")


def test_production_refuses_passwordless_database_url():
    with pytest.raises(ValidationError, match="password"):
        DatabaseSettings(
            environment="production",
            rabbitmq_url=SecretStr("amqp://folio:s3cr3t-value@rabbit/"),
            database_url=SecretStr("postgresql+asyncpg://folio@db/folio"),
        )


def test_production_refuses_template_placeholders():
    with pytest.raises(ValidationError, match="default value"):
        DatabaseSettings(
            environment="production",
            rabbitmq_url=SecretStr("amqp://folio:REPLACE_ME@rabbit/"),
            database_url=SecretStr("postgresql+asyncpg://folio:pw-123456@db/folio"),
        )


def test_production_accepts_real_secrets():
    settings = DatabaseSettings(
        environment="production",
        rabbitmq_url=SecretStr("amqp://folio:s3cr3t-value@rabbit/"),
        database_url=SecretStr("postgresql+asyncpg://folio:pw-123456@db/folio"),
    )
    assert settings.environment == "production"


def test_service_name_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    assert ServiceSettings().service_name == "from-env"
