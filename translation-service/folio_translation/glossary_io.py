"""Glossaries in and out: JSON (the upstream shapes and a structured one), CSV and TSV.

In: the upstream's ``{term: translation}``, ``{"translations": [{source, korean}]}``,
``[{source, korean}]``, ``[{term, translation}]`` and ``[{term: translation}]``; entries with
``kind``, ``note``, ``gender`` and ``do_not_translate``; ``{"terms": [...],
"do_not_translate": ["Name", ...]}``; CSV or TSV with a header row (``term``, ``translation``,
``kind``, ``note``, ``gender``, ``do_not_translate``; common aliases accepted) or without one
(term, translation, kind, note, gender, do_not_translate in that order). A term kept as
written needs no translation. Out: the same columns, or JSON with every field.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError

from folio.contracts import Character, GlossaryEntry
from folio.errors import InvalidInput

MAX_GLOSSARY_ENTRIES = 5000
COLUMNS = ("term", "translation", "kind", "note", "gender", "do_not_translate")
_ALIASES = {
    "term": "term",
    "source": "term",
    "original": "term",
    "name": "term",
    "translation": "translation",
    "target": "translation",
    "rendering": "translation",
    "korean": "translation",
    "kind": "kind",
    "type": "kind",
    "category": "kind",
    "note": "note",
    "notes": "note",
    "comment": "note",
    "gender": "gender",
    "do_not_translate": "do_not_translate",
    "do not translate": "do_not_translate",
    "dnt": "do_not_translate",
    "keep": "do_not_translate",
    "no_translate": "do_not_translate",
}
_GENDERS = {
    "m": "male",
    "male": "male",
    "f": "female",
    "female": "female",
    "nb": "nonbinary",
    "nonbinary": "nonbinary",
    "non-binary": "nonbinary",
    "unknown": "unknown",
    "": None,
}
_TRUE = frozenset({"1", "true", "yes", "y", "x", "keep"})
_FALSE = frozenset({"", "0", "false", "no", "n"})


def parse_text(
    raw: str | None, field: str = "glossary_data", *, filename: str = ""
) -> list[GlossaryEntry]:
    """A glossary as submitted in a form field or a file: JSON, CSV or TSV."""
    if raw is None or not raw.strip():
        return []
    text = raw.lstrip("\ufeff")
    name = filename.lower()
    if name.endswith(".json") or (
        not name.endswith((".csv", ".tsv", ".txt")) and _looks_json(text)
    ):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(
                f"{field} is not valid JSON: {exc.msg} (at position {exc.pos})."
            ) from exc
        return from_json(data, field)
    delimiter = "\t" if name.endswith(".tsv") or "\t" in text.split("\n", 1)[0] else ","
    return from_delimited(text, delimiter, field)


def _looks_json(text: str) -> bool:
    return text.lstrip()[:1] in ("{", "[")


def from_json(data: Any, field: str = "glossary_data") -> list[GlossaryEntry]:
    rows: list[dict[str, Any]] = []
    if isinstance(data, dict):
        listed = data.get("translations") if isinstance(data.get("translations"), list) else None
        listed = listed if listed is not None else data.get("terms") or data.get("entries")
        keep = data.get("do_not_translate")
        if listed is None and keep is None:
            rows = [{"term": t, "translation": v} for t, v in data.items()]
        else:
            rows = [_json_row(item, field) for item in _list(listed or [], field)]
            rows += [{"term": t, "do_not_translate": True} for t in _strings(keep or [], field)]
    elif isinstance(data, list):
        rows = [_json_row(item, field) for item in data]
    else:
        raise InvalidInput(f"{field} must be a JSON object or list.")
    return _entries(rows, field)


def _list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidInput(f"{field}: terms must be a list.")
    return value


def _strings(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{field}: do_not_translate must be a list of terms.")
    return value


def _json_row(item: Any, field: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidInput(f"{field} list items must be objects.")
    if "term" in item:  # an entry as exported (its "source" says who made it)
        return {k: item.get(k) for k in COLUMNS}
    if "source" in item:
        return {
            "term": item.get("source"),
            "translation": item.get("korean") or item.get("translation") or item.get("target"),
            **{k: item.get(k) for k in ("kind", "note", "gender", "do_not_translate")},
        }
    if len(item) == 1:
        term, translation = next(iter(item.items()))
        return {"term": term, "translation": translation}
    raise InvalidInput(
        f"{field} items must be {{source, korean}}, {{term, translation}} or {{term: translation}}."
    )


def from_delimited(text: str, delimiter: str, field: str = "glossary_data") -> list[GlossaryEntry]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = [row for row in reader if any(cell.strip() for cell in row)]
    if not rows:
        return []
    header = [_ALIASES.get(cell.strip().lower()) for cell in rows[0]]
    if "term" in header:
        columns, body = header, rows[1:]
    else:
        columns, body = list(COLUMNS), rows
    kind = "TSV" if delimiter == "\t" else "CSV"
    out = []
    for number, row in enumerate(body, start=2 if columns is header else 1):
        if len(row) > len(columns) and any(cell.strip() for cell in row[len(columns) :]):
            raise InvalidInput(f"{field} ({kind}) line {number} has more cells than columns.")
        out.append({c: cell for c, cell in zip(columns, row, strict=False) if c})
    return _entries(out, field)


def _entries(rows: Iterable[dict[str, Any]], field: str) -> list[GlossaryEntry]:
    entries: dict[str, GlossaryEntry] = {}
    for count, row in enumerate(rows, start=1):
        if count > MAX_GLOSSARY_ENTRIES:
            raise InvalidInput(f"{field} has more than {MAX_GLOSSARY_ENTRIES} entries.")
        entry = _entry(row, field)
        if entry is not None:
            entries[entry.term] = entry
    return list(entries.values())


def _entry(row: dict[str, Any], field: str) -> GlossaryEntry | None:
    term, translation = row.get("term"), row.get("translation")
    if not isinstance(term, str) or not isinstance(translation, (str, type(None))):
        raise InvalidInput("every glossary term and translation must be a string.")
    keep = _flag(row.get("do_not_translate"), term)
    term, translation = term.strip(), (translation or "").strip()
    if not term or not (translation or keep):
        return None
    gender = row.get("gender")
    if gender is not None and (
        not isinstance(gender, str) or gender.strip().lower() not in _GENDERS
    ):
        raise InvalidInput(
            f"glossary entry {term[:40]!r}: gender must be male, female, nonbinary or unknown."
        )
    note, kind = row.get("note"), row.get("kind")
    for name, value in (("note", note), ("kind", kind)):
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"glossary entry {term[:40]!r}: {name} must be a string.")
    try:
        return GlossaryEntry(
            term=term,
            translation=term if keep else translation,
            kind=(kind or "").strip() or None,
            note=(note or "").strip() or None,
            gender=_GENDERS[gender.strip().lower()] if isinstance(gender, str) else None,
            do_not_translate=keep,
            source="user",
        )
    except ValidationError as exc:
        raise InvalidInput(
            f"glossary entry {term[:40]!r} is invalid: {exc.errors()[0]['msg']}"
        ) from exc


def _flag(value: Any, term: Any) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInput(f"glossary entry {str(term)[:40]!r}: do_not_translate must be yes or no.")


# ---- out -----------------------------------------------------------------------------------


def to_delimited(entries: Sequence[GlossaryEntry], delimiter: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(COLUMNS)
    for e in entries:
        writer.writerow(
            [
                e.term,
                e.translation,
                e.kind or "",
                e.note or "",
                e.gender or "",
                "yes" if e.do_not_translate else "",
            ]
        )
    return out.getvalue()


def to_json(entries: Sequence[GlossaryEntry], characters: Sequence[Character]) -> dict[str, Any]:
    """Every field of every entry, the characters (gender, aliases, how they speak to whom)
    and the do-not-translate list: what ``from_json`` reads back."""
    return {
        "terms": [
            e.model_dump(mode="json", exclude_none=True, exclude_defaults=False) for e in entries
        ],
        "do_not_translate": [e.term for e in entries if e.do_not_translate],
        "characters": [c.model_dump(mode="json") for c in characters],
    }
