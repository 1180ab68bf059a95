"""Analysis without a job through the gateway: the worker's engine answers over RabbitMQ
(request/reply) with the book's style, glossary and characters, in more than one language
pair; anonymous callers only with their own key, which never reaches a log; bad files and
refused keys are clear 4xx answers."""

from __future__ import annotations

import uuid

import asyncpg

ENGLISH = (
    "Gregor Samsa woke one morning from troubled dreams. His sister Grete knocked at the "
    "door. \u201cGregor, are you ill?\u201d she asked softly. \u201cNo, Grete,\u201d he "
    "answered, \u201cI am getting up.\u201d Mr. Samsa shouted from the hall that the "
    "clerk from the office had arrived.\n\n"
    "The clerk waited in the hall for an answer that did not come. Grete cried. Gregor "
    "looked at the window, where the rain fell on the tin sill, and thought of his work."
)
GERMAN = (
    "Als Gregor Samsa eines Morgens aus unruhigen Tr\u00e4umen erwachte, fand er sich in "
    "seinem Bett zu einem ungeheueren Ungeziefer verwandelt. \u201eGregor\u201c, rief "
    "Grete, \u201ebist du krank?\u201c Der Prokurist wartete im Vorzimmer.\n\n"
    "Die Mutter weinte, und der Vater schlug mit der Faust an die T\u00fcr. Gregor sah "
    "zum Fenster, an dem der Regen herunterlief."
)


def own_key(stack, key: str) -> dict[str, str]:
    """The caller's own OpenAI-compatible provider (the fake model, by its real protocol)."""
    return {
        "api_provider": "openai",
        "api_base_url": stack.config.url("fake-llm") + "/v1",
        "model_name": "fake-model",
        "api_key": key,
    }


def upload(name: str, text: str) -> dict:
    return {"file": (name, text.encode(), "text/plain")}


async def test_anonymous_callers_analyse_with_their_own_key(stack, gateway):
    key = f"sk-own-{uuid.uuid4().hex}"
    characters = await gateway.post(
        "/api/v1/analysis/characters",
        files=upload("verwandlung.txt", ENGLISH),
        data={**own_key(stack, key), "target_language": "ko"},
    )
    assert characters.status_code == 200, characters.text
    body = characters.json()
    names = [c["name"] for c in body["characters"]]
    assert names, body  # real characters (the upstream's answer was always empty)
    assert all(name in ENGLISH for name in names)
    for character in body["characters"]:
        assert {"name", "translation", "gender", "speaks_to"} <= set(character)
    talkers = [d for d in body["dialogue_analysis"] if d["has_dialogue"]]
    assert talkers and all(d["protagonist_name"] in names for d in talkers)
    for talker in talkers:
        for interaction in talker["interactions"]:
            assert interaction["speech_style"] in ("반말", "해요체", "하십시오체")
            assert interaction["formality"] in ("formal", "polite", "casual", "intimate")
            # Nobody is listed as speaking to themselves (the model sometimes says so).
            assert interaction["character_name"] != talker["protagonist_name"]
    assert isinstance(body["interactions"], list)
    assert body["source_language"] == "en"

    style = await gateway.post(
        "/api/v1/analysis/style",
        files=upload("verwandlung.txt", ENGLISH),
        data={**own_key(stack, key), "target_language": "ko"},
    )
    assert style.status_code == 200, style.text
    shown = style.json()
    for field in ("protagonist_name", "narration_style_endings", "tone_keywords", "stylistic_rule"):
        assert isinstance(shown[field], str)
    assert shown["protagonist_name"]
    assert shown["narrative_style"]["protagonist_name"] == shown["protagonist_name"]
    assert 0 < shown["characters_read"] <= 15_000

    # Without a key, an anonymous caller is refused; the key never reached a log.
    refused = await gateway.post(
        "/api/v1/analysis/glossary", files=upload("a.txt", ENGLISH), data={"api_key": ""}
    )
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    for log in stack.config.log_dir.glob("*.log"):
        assert key not in log.read_text(errors="replace"), log.name


async def test_the_glossary_in_two_language_pairs_with_the_deployments_provider(
    gateway, dev_token, test_database
):
    user = f"analyst-{uuid.uuid4().hex[:6]}"
    bearer = {"Authorization": f"Bearer {dev_token(user)}"}
    for text, target, source in ((ENGLISH, "ja", "en"), (GERMAN, "fr", "de")):
        response = await gateway.post(
            "/api/v1/analysis/glossary",
            headers=bearer,
            files=upload("book.txt", text),
            data={"target_language": target},  # no key: signed in, the deployment's provider
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["source_language"] == source
        glossary = {g["term"]: g["translation"] for g in body["glossary"]}
        assert "Gregor" in " ".join(glossary), glossary
        assert all(term in text for term in glossary)  # nothing invented
        assert all(translation.strip() for translation in glossary.values())
        assert body["extracted_terms"]["terms"] == list(glossary)
        pairs = {t["source"]: t["korean"] for t in body["translated_terms"]["translations"]}
        assert pairs == glossary
    # The deployment's provider served a signed-in caller: the usage is theirs, no job's.
    conn = await asyncpg.connect(test_database.url("translation").replace("+asyncpg", ""))
    try:
        rows = await conn.fetch(
            "SELECT job_id, phase, input_tokens FROM usage_records WHERE owner_id = $1", user
        )
    finally:
        await conn.close()
    assert rows and all(r["job_id"] is None and r["phase"] == "analysis" for r in rows)
    assert sum(r["input_tokens"] for r in rows) > 0


async def test_bad_files_and_refused_keys_are_clear_4xx(stack, gateway, dev_token):
    bearer = {"Authorization": f"Bearer {dev_token('analyst-bad')}"}
    broken = await gateway.post(
        "/api/v1/analysis/style",
        headers=bearer,
        files={"file": ("book.docx", b"PK\x03\x04 this is no document", "application/zip")},
    )
    assert broken.status_code == 422, broken.text
    assert broken.headers["content-type"] == "application/problem+json"
    assert broken.json()["detail"].startswith("Failed to analyze style: ")
    refused = await gateway.post(
        "/api/v1/analysis/characters",
        files=upload("a.txt", ENGLISH),
        data=own_key(stack, "invalid-key"),
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["detail"] == "Invalid API Key or unsupported model."
    assert "invalid-key" not in refused.text
    for bad in (
        {"requests_per_minute": "lots"},
        {"api_provider": "abacus", "api_key": "k"},
    ):
        response = await gateway.post(
            "/api/v1/analysis/glossary", headers=bearer, files=upload("a.txt", ENGLISH), data=bad
        )
        assert response.status_code == 422, (bad, response.text)
    missing = await gateway.post("/api/v1/analysis/glossary", headers=bearer, data={"x": "1"})
    assert missing.status_code == 422


async def test_an_analysis_is_never_served_from_another_callers_answers(
    gateway, fake_llm, dev_token
):
    tag = f"tenancy{uuid.uuid4().hex[:8]}"
    text = f"{tag}. " + ENGLISH

    async def calls() -> int:
        rows = (await fake_llm.get("/_fake/requests")).json()
        rows = rows["requests"] if isinstance(rows, dict) else rows
        return sum(1 for r in rows if tag in r.get("prompt", ""))

    async def analyse(user: str) -> dict:
        response = await gateway.post(
            "/api/v1/analysis/style",
            headers={"Authorization": f"Bearer {dev_token(user)}"},
            files=upload("book.txt", text),
        )
        assert response.status_code == 200, response.text
        return response.json()

    await analyse("reader-one")
    first = await calls()
    assert first >= 1
    await analyse("reader-one")  # the same caller again: their cached answers
    assert await calls() == first
    await analyse("reader-two")  # someone else: asked anew
    assert await calls() > first
