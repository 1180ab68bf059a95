"""Produce the downloadable results of a translated book.

Every book gets a plain-text translation (and a bilingual one on request); EPUB books are also
rebuilt as EPUB so readers keep their covers, styles and navigation, and Word books as DOCX
with their formatting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

from folio_worker.engine.documents.docx_write import rebuild_docx
from folio_worker.engine.documents.epub_write import rebuild_epub
from folio_worker.engine.documents.model import Block, Document
from folio_worker.engine.documents.placeholders import strip

OutputKind = Literal["txt", "bilingual_txt", "epub", "bilingual_epub", "docx"]
_EPUB_KINDS: tuple[tuple[OutputKind, bool], ...] = (("epub", False), ("bilingual_epub", True))


def build_outputs(
    original: bytes,
    document: Document,
    translations: Mapping[int, str],
    *,
    target_language: str,
    bilingual: bool = False,
    title_suffix: str | None = None,
    colophon: str | None = None,
    vertical: bool = False,
    labels: Mapping[str, str] | None = None,
) -> dict[OutputKind, bytes]:
    """All outputs for ``document``. A block missing from ``translations`` keeps its
    source; a blank one was translated together with a neighbour (the model merged their
    paragraphs) and is left out, so its text does not appear twice. ``labels``: the
    translations of the navigation labels that match no heading (EPUB)."""
    outputs: dict[OutputKind, bytes] = {
        "txt": _encode(_chapters_text(document, lambda b: _translated(b, translations))),
    }
    if bilingual:
        outputs["bilingual_txt"] = _encode(
            _chapters_text(document, lambda b: _bilingual(b, translations))
        )
    if document.format == "epub":
        for kind, both in _EPUB_KINDS:
            if both and not bilingual:
                continue
            outputs[kind] = rebuild_epub(
                original,
                document,
                translations,
                target_language=target_language,
                bilingual=both,
                title_suffix=title_suffix,
                colophon=colophon,
                vertical=vertical,
                labels=labels,
            )
    if document.format == "docx":
        outputs["docx"] = rebuild_docx(
            original, document, translations, target_language=target_language
        )
    return outputs


def _translated(block: Block, translations: Mapping[int, str]) -> str:
    text = translations.get(block.index)
    return block.plain_text if text is None else strip(text).strip()


def _bilingual(block: Block, translations: Mapping[int, str]) -> str:
    text = translations.get(block.index)
    if text is None or not strip(text).strip():
        return block.plain_text
    return f"{block.plain_text}\n{strip(text).strip()}"


def _chapters_text(document: Document, render: Callable[[Block], str]) -> str:
    chapters: dict[int, list[str]] = {}
    for block in document.blocks:
        rendered = render(block)
        if rendered:
            chapters.setdefault(block.chapter, []).append(rendered)
    return "\n\n\n".join("\n\n".join(texts) for _, texts in sorted(chapters.items()))


def _encode(text: str) -> bytes:
    return (text.rstrip("\n") + "\n").encode("utf-8")
