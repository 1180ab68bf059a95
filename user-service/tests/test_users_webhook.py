"""Clerk's webhook: svix signatures, stale timestamps, replays, idempotent creation."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from svix.webhooks import Webhook

from .conftest import WEBHOOK_SECRET


def signed(
    event: dict, *, at: datetime | None = None, msg_id: str | None = None, secret=WEBHOOK_SECRET
):
    body = json.dumps(event)
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, at, body)
    headers = {
        "svix-id": msg_id,
        "svix-timestamp": str(int(at.timestamp())),
        "svix-signature": signature,
        "content-type": "application/json",
    }
    return body, headers


def clerk_user(user_id: str, first="Dana", last="Scully", email=None, role=None) -> dict:
    data = {
        "id": user_id,
        "object": "user",
        "first_name": first,
        "last_name": last,
        "primary_email_address_id": "idn_2",
        "email_addresses": [
            {"id": "idn_1", "email_address": f"old-{user_id}@example.invalid"},
            {"id": "idn_2", "email_address": email or f"{user_id}@example.invalid"},
        ],
        "public_metadata": {"role": role} if role else {},
    }
    return data


async def post(client, body, headers):
    return await client.post("/api/v1/webhooks/clerk", content=body, headers=headers)


async def test_bad_stale_and_missing_signatures_are_refused(service):
    _, client = service
    user_id = f"user_{uuid.uuid4().hex[:10]}"
    event = {"type": "user.created", "data": clerk_user(user_id)}
    body, headers = signed(event, secret="whsec_" + "A" * 32)
    bad = await post(client, body, headers)
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
    assert "signature" in bad.json()["detail"]
    body, headers = signed(event, at=datetime.now(UTC) - timedelta(minutes=6))
    stale = await post(client, body, headers)
    assert stale.status_code == 400
    body, headers = signed(event)
    tampered = await post(client, body.replace("Dana", "Mallory"), headers)
    assert tampered.status_code == 400
    unsigned = await client.post("/api/v1/webhooks/clerk", content=body)
    assert unsigned.status_code == 400
    # None of them created the user.
    fresh, headers = signed({"type": "user.deleted", "data": {"id": "nobody"}})
    assert (await post(client, fresh, headers)).status_code == 200


async def test_a_valid_event_is_applied_once_and_a_replay_changes_nothing(service, as_user):
    _, client = service
    user_id = f"user_{uuid.uuid4().hex[:10]}"
    body, headers = signed({"type": "user.created", "data": clerk_user(user_id, role="moderator")})
    first = await post(client, body, headers)
    assert first.status_code == 200 and first.json() == {"status": "success"}
    me = (await client.get("/api/v1/users/me", headers=as_user(user_id, claimed_role=None))).json()
    assert me["name"] == "Dana Scully" and me["email"] == f"{user_id}@example.invalid"
    assert me["role"] == "moderator"

    # Someone renames her; then the first message is replayed (same id, same signature).
    rename, rename_headers = signed(
        {"type": "user.updated", "data": clerk_user(user_id, first="Dana K.", role="moderator")}
    )
    assert (await post(client, rename, rename_headers)).json() == {"status": "success"}
    replay = await post(client, body, headers)
    assert replay.status_code == 200 and replay.json() == {"status": "duplicate"}
    me = (await client.get("/api/v1/users/me", headers=as_user(user_id, claimed_role=None))).json()
    assert me["name"] == "Dana K. Scully"


async def test_user_created_for_an_existing_user_is_not_an_error(service, as_user):
    _, client = service
    user_id = f"user_{uuid.uuid4().hex[:10]}"
    jit = await client.get("/api/v1/users/me", headers=as_user(user_id, name="first-seen"))
    body, headers = signed({"type": "user.created", "data": clerk_user(user_id)})
    response = await post(client, body, headers)
    assert response.status_code == 200, response.text
    me = (await client.get("/api/v1/users/me", headers=as_user(user_id, claimed_role=None))).json()
    assert me["id"] == jit.json()["id"] and me["name"] == "Dana Scully"


async def test_user_deleted_removes_the_user_and_malformed_events_are_4xx(service, as_user):
    _, client = service
    user_id = f"user_{uuid.uuid4().hex[:10]}"
    old_id = (await client.get("/api/v1/users/me", headers=as_user(user_id))).json()["id"]
    body, headers = signed({"type": "user.deleted", "data": {"id": user_id, "deleted": True}})
    assert (await post(client, body, headers)).status_code == 200
    again = (await client.get("/api/v1/users/me", headers=as_user(user_id))).json()
    assert again["id"] != old_id  # a new account if the same subject ever comes back
    for event in (
        {"type": "user.created", "data": {"first_name": "no id"}},
        {"type": "user.deleted", "data": {}},
        {"data": {}},
    ):
        body, headers = signed(event)
        response = await post(client, body, headers)
        assert response.status_code == 422, (event, response.text)
    body, headers = signed({"type": "session.created", "data": {"id": "sess_1"}})
    assert (await post(client, body, headers)).json() == {"status": "success"}
