"""The visibility rule in isolation: a hidden comment hides its whole subtree."""

from __future__ import annotations

from dataclasses import dataclass

from folio_community.policy import ANONYMOUS, Viewer, can_view_post, visible_comments


@dataclass
class P:
    author_id: str | None
    is_private: bool = False


@dataclass
class C:
    id: int
    parent_id: int | None
    author_id: str | None
    is_private: bool = False


def test_a_hidden_comment_hides_its_replies_at_any_depth() -> None:
    post = P("owner")
    comments = [
        C(1, None, "x"),
        C(2, 1, "x", is_private=True),
        C(3, 2, "y"),
        C(4, 3, "z"),
        C(5, 1, "y"),
        C(6, 5, "z", is_private=True),
    ]
    ids = lambda viewer: {c.id for c in visible_comments(viewer, post, comments)}  # noqa: E731
    assert ids(ANONYMOUS) == {1, 5}
    assert ids(Viewer("x")) == {1, 2, 3, 4, 5}
    assert ids(Viewer("z")) == {1, 5, 6}  # z's own reply, under a public parent
    assert ids(Viewer("owner")) == {1, 2, 3, 4, 5, 6}
    assert ids(Viewer("m", role="moderator")) == {1, 5}
    assert ids(Viewer("a", role="super_admin")) == {1, 2, 3, 4, 5, 6}


def test_an_authorless_private_post_is_for_administrators_only() -> None:
    orphan = P(None, is_private=True)
    assert not can_view_post(ANONYMOUS, orphan)
    assert not can_view_post(Viewer("someone"), orphan)
    assert can_view_post(Viewer("a", role="admin"), orphan)
