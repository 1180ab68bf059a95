"""Gemini REST and Vertex forms: shape, auth, schemas, thinking, safety, OAuth token."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from pydantic import BaseModel

from folio_fakellm.pseudo import pseudo_translate
from folio_fakellm.tokens import estimate_tokens

GKEY = {"x-goog-api-key": "AIza-test-key"}
URL = "/v1beta/models/gemini-2.5-flash:generateContent"
COUNT_URL = "/v1beta/models/gemini-2.5-flash:countTokens"


def body(text: str, system: str | None = None, **config: object) -> dict[str, Any]:
    b: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    if system is not None:
        b["systemInstruction"] = {"parts": [{"text": system}]}
    if config:
        b["generationConfig"] = config
    return b


def _jwt() -> str:
    def seg(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{seg({'alg': 'RS256', 'typ': 'JWT'})}.{seg({'iss': 'sa@x'})}.c2lnbmF0dXJl"


class Person(BaseModel):
    name: str
    rendering: str


class Cast(BaseModel):
    people: list[Person]


async def test_generate_content_shape(client: httpx.AsyncClient, sample: str) -> None:
    r = await client.post(
        URL,
        headers=GKEY,
        json=body(
            f"<source>{sample}</source>",
            system="<target_language>zh</target_language>",
            temperature=0.3,
            topP=0.9,
            topK=40,
        ),
    )
    assert r.status_code == 200
    data = r.json()
    cand = data["candidates"][0]
    assert cand["finishReason"] == "STOP" and cand["index"] == 0
    assert cand["content"]["role"] == "model"
    text = cand["content"]["parts"][0]["text"]
    assert text == pseudo_translate(sample, "Chinese")
    usage = data["usageMetadata"]
    prompt = f"<target_language>zh</target_language>\n\n<source>{sample}</source>"
    assert usage["promptTokenCount"] == estimate_tokens(prompt)
    assert usage["candidatesTokenCount"] == estimate_tokens(text)
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"]
    assert "thoughtsTokenCount" not in usage
    assert data["modelVersion"] == "gemini-2.5-flash"


async def test_key_in_query_and_auth_errors(client: httpx.AsyncClient) -> None:
    assert (await client.post(URL + "?key=abc", json=body("hi"))).status_code == 200
    # As Google answers: a wrong key is 400 INVALID_ARGUMENT / API_KEY_INVALID ...
    r = await client.post(URL, headers={"x-goog-api-key": "invalid-1"}, json=body("hi"))
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == 400 and err["status"] == "INVALID_ARGUMENT"
    assert err["message"] == "API key not valid. Please pass a valid API key."
    assert err["details"][0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert err["details"][0]["reason"] == "API_KEY_INVALID"
    assert err["details"][0]["metadata"] == {"service": "generativelanguage.googleapis.com"}
    # ... and no key at all 403 PERMISSION_DENIED, without details.
    r = await client.post(URL, json=body("hi"))
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["code"] == 403 and err["status"] == "PERMISSION_DENIED"
    assert err["message"].startswith("Method doesn't allow unregistered callers")
    assert "details" not in err
    # A key Google knows but will not serve (leaked, suspended) is 403 PERMISSION_DENIED too.
    r = await client.post(URL, headers={"x-goog-api-key": "denied-1"}, json=body("hi"))
    assert r.status_code == 403 and r.json()["error"]["status"] == "PERMISSION_DENIED"
    assert r.json()["error"]["message"] == (
        "Your API key was reported as leaked. Please use another API key."
    )
    counted = await client.post(COUNT_URL, headers={"x-goog-api-key": "invalid-2"}, json=body("hi"))
    assert counted.status_code == 400
    assert counted.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    r = await client.post(URL, headers={"x-goog-api-key": "ratelimited-1"}, json=body("hi"))
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    details = r.json()["error"]["details"]
    assert {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"} in details


async def test_response_schema_uppercase(client: httpx.AsyncClient, sample: str) -> None:
    schema = {
        "type": "OBJECT",
        "properties": {
            "people": {
                "type": "ARRAY",
                "items": {
                    "type": "OBJECT",
                    "properties": {"name": {"type": "STRING"}, "rendering": {"type": "STRING"}},
                    "required": ["name", "rendering"],
                },
            }
        },
        "required": ["people"],
    }
    r = await client.post(
        URL,
        headers=GKEY,
        json=body(
            f"<source>{sample}</source>",
            responseMimeType="application/json",
            responseSchema=schema,
        ),
    )
    cast = Cast.model_validate_json(r.json()["candidates"][0]["content"]["parts"][0]["text"])
    names = [p.name for p in cast.people]
    # The names first; then, as real models report them, the full name and a capitalised
    # word that only opens a sentence (the engine has to weed those out).
    assert names[:3] == ["Gregor", "Samsa", "Grete"]
    assert "Gregor Samsa" in names[3:]
    assert cast.people[0].rendering == pseudo_translate("Gregor", "Korean")


async def test_response_json_schema(client: httpx.AsyncClient, sample: str) -> None:
    r = await client.post(
        URL,
        headers=GKEY,
        json=body(
            f"<source>{sample}</source>",
            responseMimeType="application/json",
            responseJsonSchema=Cast.model_json_schema(),
        ),
    )
    Cast.model_validate_json(r.json()["candidates"][0]["content"]["parts"][0]["text"])
    r = await client.post(URL, headers=GKEY, json=body(sample, responseSchema={"type": "STRING"}))
    assert r.status_code == 400  # a schema needs responseMimeType application/json


async def test_thinking_tokens(client: httpx.AsyncClient, sample: str) -> None:
    r = await client.post(
        URL, headers=GKEY, json=body(sample, thinkingConfig={"thinkingLevel": "high"})
    )
    usage = r.json()["usageMetadata"]
    assert usage["thoughtsTokenCount"] > 0
    assert usage["totalTokenCount"] == (
        usage["promptTokenCount"] + usage["candidatesTokenCount"] + usage["thoughtsTokenCount"]
    )
    r = await client.post(
        URL, headers=GKEY, json=body(sample, thinkingConfig={"thinkingBudget": 0})
    )
    assert "thoughtsTokenCount" not in r.json()["usageMetadata"]
    stats = (await client.get("/_fake/stats")).json()
    assert stats["thought_tokens"] == usage["thoughtsTokenCount"]


async def test_gemini_faults(client: httpx.AsyncClient, sample: str) -> None:
    async def ask(marker: str) -> httpx.Response:
        return await client.post(URL, headers=GKEY, json=body(f"{sample}{marker}"))

    r = await ask("[[fake:block-prompt]]")
    data = r.json()
    assert r.status_code == 200 and "candidates" not in data
    assert data["promptFeedback"]["blockReason"] == "PROHIBITED_CONTENT"
    assert data["usageMetadata"]["promptTokenCount"] > 0

    r = await ask("[[fake:block-candidate]]")
    cand = r.json()["candidates"][0]
    assert cand["finishReason"] == "SAFETY"
    assert "content" not in cand
    assert any(rating.get("blocked") for rating in cand["safetyRatings"])

    r = await ask("[[fake:truncate]]")
    assert r.json()["candidates"][0]["finishReason"] == "MAX_TOKENS"

    r = await ask("[[fake:empty]]")
    cand = r.json()["candidates"][0]
    assert cand["content"]["parts"] == [{"text": ""}] and cand["finishReason"] == "STOP"

    r = await ask("[[fake:503]]")
    assert r.status_code == 503 and r.json()["error"]["status"] == "UNAVAILABLE"
    r = await ask("[[fake:500]]")
    assert r.status_code == 500 and r.json()["error"]["status"] == "INTERNAL"

    r = await ask("[[fake:429:retry=2.5]]")
    assert r.status_code == 429 and r.headers["retry-after"] == "2.5"
    assert r.json()["error"]["details"][-1]["retryDelay"] == "2.5s"

    # a block with a count lets the client's retry (e.g. a rephrased prompt) succeed
    assert "candidates" not in (await ask("[[fake:block-prompt*1]]")).json()
    assert "candidates" in (await ask("[[fake:block-prompt*1]]")).json()


async def test_vertex_token_flow(client: httpx.AsyncClient, sample: str) -> None:
    vertex = (
        "/v1/projects/p1/locations/europe-west4/publishers/google/models/"
        "gemini-2.5-flash:generateContent"
    )
    r = await client.post(vertex, headers={"Authorization": "Bearer nope"}, json=body(sample))
    assert r.status_code == 401 and r.json()["error"]["status"] == "UNAUTHENTICATED"
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": _jwt()}
    r = await client.post("/token", data=form)
    assert r.status_code == 200
    tok = r.json()
    assert tok["token_type"] == "Bearer" and tok["expires_in"] == 3600
    assert tok["access_token"].startswith("fake-vertex-")
    r = await client.post(
        vertex, headers={"Authorization": f"Bearer {tok['access_token']}"}, json=body(sample)
    )
    assert r.status_code == 200
    assert r.json()["candidates"][0]["content"]["parts"][0]["text"] == pseudo_translate(
        sample, "ko"
    )
    log = (await client.get("/_fake/requests")).json()
    assert [e["endpoint"] for e in log] == ["vertex.generateContent"] * 2
    assert tok["access_token"] not in json.dumps(log)


async def test_token_rejects_bad_assertion(client: httpx.AsyncClient) -> None:
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    for data in ({"grant_type": grant}, {"grant_type": grant, "assertion": "garbled"}):
        r = await client.post("/token", data=data)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = await client.post("/token", data={"grant_type": "password", "assertion": _jwt()})
    assert r.status_code == 400


async def test_get_model(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1beta/models/gemini-2.5-flash", headers=GKEY)
    assert r.json()["name"] == "models/gemini-2.5-flash"
    assert (await client.get("/v1beta/models/unknown-x")).status_code == 404
    r = await client.post(
        "/v1beta/models/gemini-2.5-flash:countTokens", headers=GKEY, json=body("abcdefgh")
    )
    assert r.json() == {"totalTokens": 2}
