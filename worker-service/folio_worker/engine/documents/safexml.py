"""Parse XML from untrusted books without XXE, entity expansion or network access.

EPUB and DOCX are XML inside a zip, and XML can declare entities that read local files
(XXE) or expand exponentially (billion laughs). The parser never resolves entities, never
loads DTDs or touches the network, and documents that declare entities are refused outright.
XHTML in e-books often uses HTML named entities such as ``&nbsp;`` without a DTD, so those are
rewritten to numeric character references before parsing.
"""

from __future__ import annotations

import html.entities
import re

from lxml import etree

from folio_worker.engine.documents.model import DocumentError

_XML_PREDEFINED = frozenset({"amp", "lt", "gt", "quot", "apos"})
# Errors that mean "too big or too deep", not "sloppy markup": never retry those leniently.
_NOT_RECOVERABLE = ("amplification", "depth", "huge")
_NAMED_ENTITY = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")


def make_parser(*, recover: bool = False) -> etree.XMLParser:
    """The only XML parser configuration used on book content."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        recover=recover,
        remove_comments=False,
    )


def parse_xml(data: bytes, what: str, *, lenient: bool = False) -> etree._ElementTree:
    """Parse ``data`` safely; ``lenient`` also maps HTML entities and recovers from sloppy markup.

    Raises DocumentError naming ``what`` when the XML is unusable or declares entities.
    """
    if b"<!ENTITY" in data:
        raise _entities_refused(what)
    if lenient:
        data = _NAMED_ENTITY.sub(_numeric_reference, data)
    try:
        root = etree.fromstring(data, make_parser())
    except etree.XMLSyntaxError as exc:
        if not lenient or any(word in str(exc).lower() for word in _NOT_RECOVERABLE):
            raise _invalid(what, exc) from None
        try:
            root = etree.fromstring(data, make_parser(recover=True))
        except etree.XMLSyntaxError:
            root = None
        if root is None:
            raise _invalid(what, exc) from None
    except ValueError as exc:
        raise DocumentError(f"The file looks corrupt: {what} cannot be read ({exc}).") from None
    tree = root.getroottree()
    _refuse_entity_declarations(tree, what)
    return tree


def _refuse_entity_declarations(tree: etree._ElementTree, what: str) -> None:
    dtd = tree.docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise _entities_refused(what)


def _invalid(what: str, exc: Exception) -> DocumentError:
    message = str(getattr(exc, "msg", None) or exc).split(" (<string>")[0].strip()
    if "depth" in message.lower():
        return DocumentError(f"The file looks corrupt: {what} is nested too deeply to read.")
    return DocumentError(f"The file looks corrupt: {what} is not valid XML ({message}).")


def _entities_refused(what: str) -> DocumentError:
    return DocumentError(
        f"The file was refused: {what} declares XML entities, which books do not need "
        "and which can be used to attack the reader."
    )


def _numeric_reference(match: re.Match[bytes]) -> bytes:
    name = match.group(1).decode("ascii")
    if name in _XML_PREDEFINED:
        return match.group(0)
    codepoint = html.entities.name2codepoint.get(name)
    if codepoint is None:
        return match.group(0)
    return f"&#{codepoint};".encode("ascii")
