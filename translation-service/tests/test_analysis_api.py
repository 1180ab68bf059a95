"""Analysis without a job, in process (real database, real broker, no worker running):
who may ask, what is refused before anything is sent, and the clear 504 when nobody
answers in time. The engine's answers are tested end to end (tests/e2e)."""

from __future__ import annotations

import pytest
from translation_wire import auth

from folio.credentials import generate_key
from folio_devstack.pytest_plugin import running_app
from folio_translation.main import create_app
from folio_translation.settings import TranslationSettings

BOOK = b"Gregor woke. Grete knocked at the door and called his name."


@pytest.fixture
async def impatient(test_database, module_amqp_url, internal_public_key, tmp_path):
    """translation-service that waits one second for an analysis (no worker answers)."""
    settings = TranslationSettings(
        database_url=test_database.url("translation"),
        rabbitmq_url=module_amqp_url,
        storage_dir=tmp_path / "storage",
        internal_token_public_key=internal_public_key,
        credentials_key=generate_key(),
        analysis_timeout_s=1.0,
        analysis_max_upload_bytes=4096,
    )
    app = create_app(settings)
    async with running_app(app) as client:
        yield app, client, tmp_path / "storage"


def form(name: str = "book.txt", body: bytes = BOOK, **fields):
    return {"files": {"file": (name, body, "text/plain")}, "data": fields}


@pytest.mark.parametrize("kind", ["style", "glossary", "characters"])
async def test_an_unanswered_analysis_is_a_clear_504_and_leaves_no_upload(
    impatient, internal_signer, kind
):
    _app, client, storage = impatient
    response = await client.post(
        f"/api/v1/analysis/{kind}", headers=auth(internal_signer, "reader"), **form()
    )
    assert response.status_code == 504, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "did not finish within 1 seconds" in response.json()["detail"]
    leftovers = [p for p in (storage / "analysis").rglob("*") if p.is_file()]
    assert leftovers == []


async def test_what_is_refused_before_the_worker_is_asked(impatient, internal_signer):
    _app, client, _ = impatient
    # Anonymous callers must bring their own key ('' counts as none).
    for fields in ({}, {"api_key": ""}, {"api_key": "  "}):
        anonymous = await client.post("/api/v1/analysis/style", **form(**fields))
        assert anonymous.status_code == 401, fields
        assert "own API key" in anonymous.json()["detail"]
    signed_in = auth(internal_signer, "reader")
    cases = [
        (form("book.exe"), 415),
        (form(body=b""), 422),
        (form(body=b"x" * 5000), 413),
        (form(requests_per_minute="many"), 422),
        (form(api_provider="carrier-pigeon", api_key="k"), 422),
        ({"data": {"api_key": "k"}}, 422),  # no file
    ]
    for request, status in cases:
        response = await client.post("/api/v1/analysis/glossary", headers=signed_in, **request)
        assert response.status_code == status, (request.get("data"), response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    junk = await client.post(
        "/api/v1/analysis/characters",
        headers={**signed_in, "content-type": "multipart/form-data; boundary=x"},
        content=b"--x\r\nContent-Disposition: form-data; name=file\r\n\r\n--x--",
    )
    assert 400 <= junk.status_code < 500, junk.text
