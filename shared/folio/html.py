"""How user text is rendered as HTML: one rule for every service.

User text is stored exactly as written and returned as written (``content``), for
clients that render it as text. For clients that render HTML, services add a rendering
(``content_html``) made by :func:`render_html` with nh3 (the Ammonia sanitiser):

* kept: ``p br b strong i em u s code pre blockquote ul ol li a``; on ``a`` only
  ``href`` (``http``, ``https``, ``mailto``) and ``title``, and every link gets
  ``rel="noopener noreferrer nofollow ugc"``;
* removed: every other tag (its text stays), every other attribute, comments, and
  ``script``/``style`` elements with their content;
* text is HTML-escaped, and line breaks stay line breaks (render with
  ``white-space: pre-wrap``).
"""

from __future__ import annotations

import nh3

ALLOWED_TAGS = frozenset(
    {
        "a",
        "b",
        "blockquote",
        "br",
        "code",
        "em",
        "i",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "strong",
        "u",
        "ul",
    }
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow ugc"


def render_html(text: str) -> str:
    return nh3.clean(
        text,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )
