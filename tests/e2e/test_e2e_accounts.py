"""Accounts through the gateway: Clerk's webhook (signatures, replays, exactly once), a
deleted user's board content anonymised through events without an error anywhere, and
the token-usage dashboard built from usage.recorded events on the real broker."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import aio_pika
import pytest
from svix.webhooks import Webhook

from folio.contracts import UsageRecorded
from folio.messaging import Publisher, make_broker
from folio_devstack.pytest_plugin import wait_until
from folio_devstack.secrets import load_or_create

from .board import Caller, caller, new_category, new_comment, new_post, unique

WEBHOOK = "/api/v1/webhooks/clerk"


@pytest.fixture(scope="module")
def sign(folio_infra):
    secret = load_or_create(folio_infra.secrets_dir).webhook_secret

    def signed(event: dict, *, at: datetime | None = None, key: str = secret):
        body = json.dumps(event)
        msg_id = f"msg_{uuid.uuid4().hex}"
        at = at or datetime.now(UTC)
        headers = {
            "svix-id": msg_id,
            "svix-timestamp": str(int(at.timestamp())),
            "svix-signature": Webhook(key).sign(msg_id, at, body),
        }
        return body, headers

    return signed


def clerk_user(user_id: str, first: str, email: str) -> dict:
    return {
        "id": user_id,
        "first_name": first,
        "last_name": None,
        "primary_email_address_id": "e1",
        "email_addresses": [{"id": "e1", "email_address": email}],
        "public_metadata": {},
    }


async def test_the_webhook_refuses_bad_and_stale_signatures_and_applies_a_message_once(
    gateway, dev_token, sign
):
    user_id = unique("user_hook")
    created = {"type": "user.created", "data": clerk_user(user_id, "Erin", f"{user_id}@a.test")}
    body, headers = sign(created, key="whsec_" + "B" * 32)
    assert (await gateway.post(WEBHOOK, content=body, headers=headers)).status_code == 400
    body, headers = sign(created, at=datetime.now(UTC) - timedelta(minutes=10))
    assert (await gateway.post(WEBHOOK, content=body, headers=headers)).status_code == 400
    body, headers = sign(created)
    first = await gateway.post(WEBHOOK, content=body, headers=headers)
    assert first.status_code == 200 and first.json() == {"status": "success"}
    replay = await gateway.post(WEBHOOK, content=body, headers=headers)
    assert replay.status_code == 200 and replay.json() == {"status": "duplicate"}
    erin = Caller(gateway, dev_token(user_id, role=None, name=None, email=None), "erin")
    me = await erin.me()
    assert me["name"] == "Erin" and me["email"] == f"{user_id}@a.test"


async def dead_letters(amqp_url: str) -> dict[str, int]:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        counts = {}
        for name in ("community-service.events.dlq", "user-service.events.dlq"):
            queue = await channel.declare_queue(name, passive=True)
            counts[name] = queue.declaration_result.message_count
        return counts
    finally:
        await connection.close()


async def test_deleting_a_user_anonymises_their_board_content_through_events(
    stack, gateway, dev_token, sign
):
    admin = caller(gateway, dev_token, "admin", role="admin")
    alice_id = unique("user_alice")
    alice = Caller(gateway, dev_token(alice_id, name="Alice"), "alice")
    bob = caller(gateway, dev_token, "bob")
    for person in (admin, alice, bob):
        await person.me()
    category = await new_category(admin)
    public = await new_post(alice, category["id"], title="alice public")
    private = await new_post(alice, category["id"], title="alice private", is_private=True)
    top = await new_comment(alice, public["id"], "alice top")
    reply = await new_comment(bob, public["id"], "bob reply", parent_id=top["id"])
    secret = await new_comment(alice, public["id"], "alice secret", is_private=True)
    bob_post = await new_post(bob, category["id"], title="bob's")
    await new_comment(alice, bob_post["id"], "alice on bob's", is_private=True)
    bob_id = (await bob.me())["id"]

    async def alice_named():
        post = (await admin.get(f"/community/posts/{public['id']}")).json()
        return post["author"]["name"] == "Alice" and post["author"]["id"] > 0

    assert await wait_until(alice_named, timeout_s=10)

    body, headers = sign({"type": "user.deleted", "data": {"id": alice_id, "deleted": True}})
    deleted = await gateway.post(WEBHOOK, content=body, headers=headers)
    assert deleted.status_code == 200, deleted.text

    async def anonymised():
        post = (await admin.get(f"/community/posts/{public['id']}")).json()
        replies = [r for c in post["comments"] for r in c["replies"]]
        bob_known = any(r["author"] == {"id": bob_id, "name": "Bob"} for r in replies)
        return post if post["author"] == {"id": 0, "name": None} and bob_known else None

    post = await wait_until(anonymised, timeout_s=10)
    # The thread stays whole: Alice's comments are anonymous, Bob's reply is his.
    (thread,) = [c for c in post["comments"] if c["id"] == top["id"]]
    assert thread["author"] == {"id": 0, "name": None} and thread["content"] == "alice top"
    assert thread["replies"][0]["id"] == reply["id"]
    assert thread["replies"][0]["author"] == {"id": bob_id, "name": "Bob"}
    # Her private things now have no author: admins see them, her old token does not.
    assert (await admin.get(f"/community/posts/{private['id']}")).status_code == 200
    assert (await alice.get(f"/community/posts/{private['id']}")).status_code == 403
    seen_by_alice = await alice.get(f"/community/posts/{public['id']}/comments")
    assert secret["id"] not in {c["id"] for c in seen_by_alice.json()}
    # The post's author still sees private comments on their post.
    on_bobs = (await bob.get(f"/community/posts/{bob_post['id']}/comments")).json()
    assert [c["author"] for c in on_bobs] == [{"id": 0, "name": None}]
    listing = await gateway.get("/api/v1/community/posts", params={"category": category["name"]})
    assert listing.status_code == 200
    assert all(p["author"]["name"] != "Alice" for p in listing.json())
    assert (await gateway.get("/api/v1/community/categories/overview")).status_code == 200
    assert await dead_letters(stack.config.amqp_url) == {
        "community-service.events.dlq": 0,
        "user-service.events.dlq": 0,
    }


def usage(user_id: str, job_id: int, model: str, n: int, **fields) -> UsageRecorded:  # type: ignore[no-untyped-def]
    return UsageRecorded(
        usage_id=f"job-{job_id}-call-{n}-{user_id}",
        user_id=user_id,
        job_id=job_id,
        model=model,
        recorded_at=datetime.now(UTC),
        **fields,
    )


async def test_the_token_usage_dashboard_matches_the_usage_of_a_users_jobs(
    stack, gateway, dev_token
):
    """The events are published on the real broker as translation-service publishes them
    (one per provider call, stable usage ids); the dashboard is what they add up to."""
    user_id = unique("user_usage")
    reader = Caller(gateway, dev_token(user_id), "reader")
    empty = (await reader.get("/users/me/token-usage")).json()
    assert empty["total"] == {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    assert empty["per_model"] == [] and empty["last_updated"] is None

    calls = [
        # job 1: analysis + translation with model A, validation with model B
        usage(user_id, 1, "model-a", 1, phase="analysis", input_tokens=1200, output_tokens=300),
        usage(user_id, 1, "model-a", 2, input_tokens=5000, output_tokens=5600, thinking_tokens=400),
        usage(user_id, 1, "model-a", 3, input_tokens=4800, output_tokens=5100),
        usage(user_id, 1, "model-b", 4, phase="validation", input_tokens=900, output_tokens=100),
        # job 2: translation with model B, illustrations with an image model
        usage(user_id, 2, "model-b", 1, input_tokens=3000, output_tokens=3300),
        usage(user_id, 2, "image-model", 2, category="illustration", phase="illustration",
              input_tokens=25, output_tokens=10, images=2),
        usage(user_id, 2, "image-model", 3, category="illustration", phase="illustration",
              input_tokens=30, output_tokens=12, images=1),
    ]  # fmt: skip
    other_user = usage(unique("someone-else"), 9, "model-a", 1, input_tokens=10**6)
    broker = make_broker(stack.config.amqp_url, service_name="test-producer", telemetry=None)
    await broker.connect()
    try:
        publisher = Publisher(broker, "translation-service")
        for event in [*calls, other_user]:
            await publisher.publish(event)
        # At-least-once delivery and a re-published usage (new message id, same usage id):
        # each usage is counted once.
        await publisher.publish(calls[1])
        await publisher.publish(calls[5])
    finally:
        await broker.stop()

    def per_model(category: str) -> dict[str, tuple[int, int]]:
        totals: dict[str, tuple[int, int]] = {}
        for call in calls:
            if call.category == category:
                i, o = totals.get(call.model, (0, 0))
                totals[call.model] = (i + call.input_tokens, o + call.output_tokens)
        return totals

    expected = per_model("translation")
    expected_images = per_model("illustration")

    async def dashboard():
        body = (await reader.get("/users/me/token-usage")).json()
        models = {m["model"]: (m["input_tokens"], m["output_tokens"]) for m in body["per_model"]}
        return body if models == expected and body["illustrations"]["image_count"] == 3 else None

    body = await wait_until(dashboard, timeout_s=10)
    assert body["total"] == {
        "input_tokens": sum(i for i, _ in expected.values()),
        "output_tokens": sum(o for _, o in expected.values()),
        "total_tokens": sum(i + o for i, o in expected.values()),
    }
    for row in body["per_model"]:
        assert row["total_tokens"] == row["input_tokens"] + row["output_tokens"]
    assert [m["model"] for m in body["per_model"]] == ["model-a", "model-b"]  # largest first
    illustrations = body["illustrations"]
    assert {
        m["model"]: (m["input_tokens"], m["output_tokens"]) for m in illustrations["per_model"]
    } == expected_images
    assert (illustrations["input_tokens"], illustrations["output_tokens"]) == (55, 22)
    assert illustrations["total_tokens"] == 77
    assert body["last_updated"].endswith("+00:00")
    assert (await gateway.get("/api/v1/users/me/token-usage")).status_code == 401


async def test_roles_from_claims_and_from_administrators(gateway, dev_token, stack, test_database):
    """A claimed role wins; without a claim the role an administrator set applies, in
    user-service and on the board (which learns it from user events)."""
    root = caller(gateway, dev_token, "root", role="super_admin")
    admin = caller(gateway, dev_token, "admin", role="admin")
    carol_id = unique("user_carol")
    carol = Caller(gateway, dev_token(carol_id, role=None), "carol")  # no role claim
    for person in (root, admin, carol):
        await person.me()
    me = await carol.me()
    assert me["role"] == "user"
    path = f"/users/{me['id']}/role"
    assert (await carol.put(path, json={"role": "admin"})).status_code == 403
    assert (await admin.put(path, json={"role": "super_admin"})).status_code == 403
    assert (await admin.put(path, json={"role": "boss"})).status_code == 422
    assert (await admin.put("/users/999999999/role", json={"role": "user"})).status_code == 404
    made = await admin.put(path, json={"role": "moderator"})
    assert made.status_code == 200 and made.json()["role"] == "moderator"
    assert (await carol.me())["role"] == "moderator"
    # The board hears of it through users.user.updated.v1: she may now moderate.
    category = await new_category(admin)
    post = await new_post(admin, category["id"])

    async def moderator_on_the_board():
        response = await carol.delete(f"/admin/posts/{post['id']}")
        return response.status_code == 204

    assert await wait_until(moderator_on_the_board, timeout_s=10)
    promoted = await root.put(path, json={"role": "admin"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "admin"
    # A token that claims a role overrides what was set (the identity provider's word).
    claimed = Caller(gateway, dev_token(carol_id, role="user"), "carol")
    assert (await claimed.me())["role"] == "user"


async def test_malformed_webhook_events_are_4xx(gateway, sign):
    for event in (
        {"type": "user.created", "data": {"first_name": "no id"}},
        {"type": "user.deleted", "data": {}},
        {"data": {}},
    ):
        body, headers = sign(event)
        response = await gateway.post(WEBHOOK, content=body, headers=headers)
        assert response.status_code == 422, (event, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    body, headers = sign({"type": "user.created", "data": {"id": "x"}})
    response = await gateway.post(WEBHOOK, content="not json", headers=headers)
    assert response.status_code == 400
