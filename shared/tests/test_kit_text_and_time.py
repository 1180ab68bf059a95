"""The HTML rule for user text, UTC timestamps, broadcast queues and claimed roles."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import BaseModel

from folio.html import render_html
from folio.identity import Identity, InternalTokenSigner, InternalTokenVerifier
from folio.identity import generate_ed25519_keypair as keypair
from folio.messaging.topology import ANNOUNCEMENT_BROADCAST, USER_EVENTS
from folio.timestamps import Timestamp


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("plain text, a < b & c", "plain text, a &lt; b &amp; c"),
        ("<b>bold</b> and <em>em</em>", "<b>bold</b> and <em>em</em>"),
        ("<script>steal()</script>after", "after"),
        ("<style>body{}</style>x", "x"),
        ("<img src=x onerror=alert(1)>", ""),
        ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer nofollow ugc">x</a>'),
        (
            '<a href="https://e.example/" onclick="x()" target="_top">e</a>',
            '<a href="https://e.example/" rel="noopener noreferrer nofollow ugc">e</a>',
        ),
        ("<p>one</p>\n<p>two</p>", "<p>one</p>\n<p>two</p>"),
        ("<!-- hidden -->seen", "seen"),
        ('<div style="x">kept text</div>', "kept text"),
    ],
)
def test_render_html_follows_the_documented_rule(text: str, html: str) -> None:
    assert render_html(text) == html


class Stamped(BaseModel):
    at: Timestamp


def test_timestamps_are_iso_8601_utc_with_an_explicit_offset() -> None:
    seoul = timezone(timedelta(hours=9))
    assert Stamped(at=datetime(2026, 1, 1, 9, 0, tzinfo=seoul)).model_dump_json() == (
        '{"at":"2026-01-01T00:00:00+00:00"}'
    )
    assert Stamped(at=datetime(2026, 1, 1, 9, 0)).model_dump(mode="json") == {
        "at": "2026-01-01T09:00:00+00:00"  # naive is taken as UTC
    }


def test_a_broadcast_queue_is_per_process_transient_and_bounded() -> None:
    a, b = ANNOUNCEMENT_BROADCAST.for_process("a"), ANNOUNCEMENT_BROADCAST.for_process("b")
    assert a.name != b.name
    queue = a.rabbit_queue()
    assert queue.exclusive and queue.auto_delete and not queue.durable
    assert queue.arguments["x-queue-type"] == "classic"
    assert queue.arguments["x-max-length"] > 0
    assert queue.routing_key == "users.announcement.#"
    # The durable queue also binds every announcement event, so a publish is always routed.
    assert {"users.announcement.created.v1", "users.announcement.deleted.v1"} <= set(
        USER_EVENTS.routing_keys
    )


def test_a_claimed_role_travels_and_its_absence_too() -> None:
    private, public = keypair()
    signer = InternalTokenSigner(private, "gw", "svc")
    verifier = InternalTokenVerifier(public, "gw", "svc")
    claimed = verifier.verify(
        signer.sign(Identity(user_id="u", role="admin", claimed_role="admin"))
    )
    assert claimed.role == "admin" and claimed.claimed_role == "admin"
    unclaimed = verifier.verify(signer.sign(Identity(user_id="u", role="user")))
    assert unclaimed.role == "user" and unclaimed.claimed_role is None
