"""Markdown parsing: headings open chapters, markup reduces to the words a reader sees."""

from __future__ import annotations

from folio_worker.engine.documents import parse_document

BOOK = """---
title: "The Markdown Book"
author: Ann Author; Bob Writer
lang: en
---

A preface with *emphasis* and a [link](https://example.com) and ![an image](x.png).

# Chapter One

The first paragraph was hard
wrapped by the author.

## A Section Title

### A sub-heading

- item one
- item **two**

> A quoted
> paragraph.

```
code stays as it is
```

Setext Chapter
==============

Line one with a hard break\\
line two.

| Name | Value |
| ---- | ----- |
| a    | b     |
"""


def test_markdown_structure() -> None:
    book = parse_document(BOOK.encode(), "book.MD")
    assert book.format == "md"
    assert book.title == "The Markdown Book"
    assert book.authors == ("Ann Author", "Bob Writer")
    assert book.language == "en"
    assert [c.title for c in book.chapters] == [
        None,
        "Chapter One",
        "A Section Title",
        "Setext Chapter",
    ]
    got = [(b.chapter, b.kind, b.text) for b in book.blocks]
    assert got == [
        (0, "paragraph", "A preface with emphasis and a link and ."),
        (1, "heading", "Chapter One"),
        (1, "paragraph", "The first paragraph was hard wrapped by the author."),
        (2, "heading", "A Section Title"),
        (2, "heading", "A sub-heading"),
        (2, "paragraph", "item one"),
        (2, "paragraph", "item two"),
        (2, "paragraph", "A quoted paragraph."),
        (2, "paragraph", "code stays as it is"),
        (3, "heading", "Setext Chapter"),
        (3, "paragraph", "Line one with a hard break\nline two."),
        (3, "paragraph", "Name"),
        (3, "paragraph", "Value"),
        (3, "paragraph", "a"),
        (3, "paragraph", "b"),
    ]


def test_plain_chapter_lines_in_markdown_open_chapters() -> None:
    data = b"Intro.\n\nChapter 1\n\nText.\n\n- 2\n\n| n |\n| - |\n| 3 |\n\nChapter 2\n\nMore."
    book = parse_document(data, "x.markdown")
    assert [c.title for c in book.chapters] == [None, "Chapter 1", "Chapter 2"]


def test_markdown_without_front_matter_uses_first_h1_as_title() -> None:
    book = parse_document("# Das Buch\n\nEin Absatz über Äpfel.\n".encode(), "b.md")
    assert book.title == "Das Buch"
    assert book.blocks[1].text == "Ein Absatz über Äpfel."
