"""Helpers of translation-service's in-process tests: signed identities, uploads, and the
worker's events as it sends them (imported by the test modules; see conftest.py)."""

from __future__ import annotations

from sqlalchemy import select

from folio.contracts import (
    CallRecord,
    CallsRecorded,
    JobPlanned,
    PlannedSegment,
    SegmentTranslated,
    TaskRun,
)
from folio.identity import IDENTITY_HEADER, Identity
from folio.messaging import Envelope
from folio_translation.models import MESSAGING


def auth(signer, user_id: str = "alice", role: str = "user") -> dict[str, str]:
    return {IDENTITY_HEADER: signer.sign(Identity(user_id=user_id, role=role))}


def upload(name: str = "book.txt", body: bytes = b"One.\n\nTwo.\n\nThree.", **form):
    return {
        "files": {"file": (name, body, "text/plain")},
        "data": {k: str(v) for k, v in form.items()},
    }


def planned(
    job_id: int,
    segments: int = 3,
    units_per_segment: int = 2,
    salt: str = "",
    task: TaskRun | None = None,
    longest_units: list[int] | None = None,
) -> bytes:
    """The worker's JobPlanned as it sends it: segments cite the stored plan by digest
    (the ``salt`` gives the segments content no other test has; ``longest_units``, each
    segment's longest unit in characters)."""
    return (
        Envelope.wrap(
            JobPlanned(
                job_id=job_id,
                segments=[
                    PlannedSegment(
                        index=i,
                        source_text=f"source {i}{salt}",
                        unit_count=units_per_segment,
                        estimated_tokens=100,
                        digest=f"digest-{i}{salt}",
                        longest_unit_chars=longest_units[i] if longest_units else 0,
                    )
                    for i in range(segments)
                ],
                plan_key=plan_key_of(job_id),
                task=task,
            ),
            producer="worker-service",
        )
        .model_dump_json()
        .encode()
    )


def plan_key_of(job_id: int) -> str:
    return f"jobs/{job_id}/plan/plan.json"


def call_record(job_id: int, index: int, text: str = "") -> CallRecord:
    """The one model call behind a result (another text: another call)."""
    return CallRecord(
        phase="translation",
        model="m",
        call_id=f"call-{job_id}-{index}-{text or 'first'}",
        input_tokens=10,
        output_tokens=5,
    )


def calls_recorded(job_id: int, index: int, calls: list[CallRecord]) -> bytes:
    """What the worker's usage journal reports for these calls."""
    event = CallsRecorded(job_id=job_id, segment_index=index, calls=calls)
    return Envelope.wrap(event, producer="worker-service").model_dump_json().encode()


def translated(
    job_id: int,
    index: int,
    text: str = "",
    fingerprint: str = "",
    task: TaskRun | None = None,
) -> bytes:
    units = [f"T{index}a", f"T{index}b"]
    return (
        Envelope.wrap(
            SegmentTranslated(
                job_id=job_id,
                segment_index=index,
                translated_text=text or "\n\n".join(units),
                unit_translations=units,
                model="m",
                fingerprint=fingerprint,
                calls=[call_record(job_id, index, text)],
                task=task,
            ),
            producer="worker-service",
        )
        .model_dump_json()
        .encode()
    )


async def outbox_types(database, job_id: int) -> list[str]:
    async with database.transaction() as session:
        rows = (
            (
                await session.execute(
                    select(MESSAGING.outbox.c.message_type)
                    .where(MESSAGING.outbox.c.envelope["data"]["job_id"].as_string() == str(job_id))
                    .order_by(MESSAGING.outbox.c.id)
                )
            )
            .scalars()
            .all()
        )
    return list(rows)


async def outbox_envelopes(database, job_id: int, message_type: str) -> list[dict]:
    """The job's outbox rows of one type, in the order the relay publishes them."""
    async with database.transaction() as session:
        rows = await session.execute(
            select(MESSAGING.outbox.c.envelope)
            .where(MESSAGING.outbox.c.message_type == message_type)
            .where(MESSAGING.outbox.c.envelope["data"]["job_id"].as_string() == str(job_id))
            .order_by(MESSAGING.outbox.c.id)
        )
        return list(rows.scalars())
