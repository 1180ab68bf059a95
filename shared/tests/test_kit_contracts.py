"""Contracts: registry rules, envelope round trips, routing and topology coverage."""

import uuid
from typing import ClassVar

import pytest
from pydantic import ValidationError

from folio.contracts import (
    EVENTS_EXCHANGE,
    OUTPUT_FILES,
    WORK_EXCHANGE,
    AssemblySegment,
    AssemblySnapshot,
    BlobContract,
    BlobContractError,
    Command,
    Event,
    JobPlan,
    JobPlanned,
    OutputKind,
    PlanJob,
    PlannedSegment,
    SegmentTranslated,
    all_message_classes,
    download_name,
)
from folio.messaging import QUEUES, Envelope, derived_message_id
from folio.messaging.envelope import UnknownMessageType


def test_every_message_type_is_versioned_and_unique():
    classes = {
        t: c for t, c in all_message_classes().items() if c.__module__.startswith("folio.contracts")
    }
    assert len(classes) >= 9
    for type_name, cls in classes.items():
        assert cls.TYPE == type_name
        assert type_name.rsplit(".", 1)[1].startswith("v")


def test_a_type_without_version_is_refused():
    with pytest.raises(TypeError, match="version"):

        class Unversioned(Event):
            TYPE: ClassVar[str] = "test.unversioned"


def test_a_type_defined_twice_is_refused():
    with pytest.raises(TypeError, match="defined twice"):

        class Duplicate(Event):
            TYPE: ClassVar[str] = JobPlanned.TYPE


def test_events_route_by_type_and_commands_by_queue():
    assert JobPlanned.exchange() == EVENTS_EXCHANGE
    assert JobPlanned.routing_key() == "translation.job.planned.v3"
    assert PlanJob.exchange() == WORK_EXCHANGE
    assert PlanJob.routing_key() == "worker-service.plan"


def test_every_message_reaches_some_queue():
    # Publishes are mandatory: a message type nobody is bound to would be returned as
    # unroutable. Every contract must therefore be bound to at least one queue.
    bound = {(spec.exchange, key) for spec in QUEUES for key in spec.routing_keys}
    for cls in all_message_classes().values():
        if cls.__module__.startswith("folio.contracts") and issubclass(cls, (Event, Command)):
            assert (cls.exchange(), cls.routing_key()) in bound, cls.TYPE


def test_envelope_round_trip_validates_the_contract():
    event = JobPlanned(
        job_id=7,
        segments=[PlannedSegment(index=0, source_text="Hello", unit_count=1, digest="d")],
        plan_key="jobs/7/plan/plan.json",
    )
    envelope = Envelope.wrap(event, producer="worker-service", correlation_id="job-7")
    parsed = Envelope.model_validate_json(envelope.model_dump_json())
    assert parsed.message_id == envelope.message_id
    assert parsed.open() == event
    assert parsed.producer == "worker-service"
    assert parsed.occurred_at.tzinfo is not None


def test_envelope_with_bad_data_fails_validation():
    envelope = Envelope(
        message_id=uuid.uuid4(),
        type=SegmentTranslated.TYPE,
        occurred_at="2026-01-01T00:00:00Z",
        producer="x",
        data={"job_id": "not-a-number"},
    )
    with pytest.raises(ValidationError):
        envelope.open()


def test_unknown_type_is_reported():
    envelope = Envelope(
        message_id=uuid.uuid4(),
        type="nobody.knows.v1",
        occurred_at="2026-01-01T00:00:00Z",
        producer="x",
        data={},
    )
    with pytest.raises(UnknownMessageType):
        envelope.open()


def test_messages_are_immutable_and_ignore_unknown_fields():
    event = SegmentTranslated.model_validate(
        {"job_id": 1, "segment_index": 2, "translated_text": "x", "model": "m", "future": 1}
    )
    with pytest.raises(ValidationError):
        event.job_id = 3  # type: ignore[misc]


def test_derived_ids_are_stable_per_cause_and_purpose():
    cause = uuid.uuid4()
    assert derived_message_id(cause, "translated") == derived_message_id(cause, "translated")
    assert derived_message_id(cause, "translated") != derived_message_id(cause, "failed")
    assert derived_message_id(uuid.uuid4(), "translated") != derived_message_id(cause, "translated")


def test_queue_arguments_are_quorum_with_dead_lettering():
    for spec in QUEUES:
        args = spec.arguments()
        assert args["x-queue-type"] == "quorum"
        assert args["x-delivery-limit"] >= 1
        assert args["x-dead-letter-exchange"] == "folio.dlx"
        assert args["x-dead-letter-routing-key"] == spec.name
        assert spec.dead_letter_queue == f"{spec.name}.dlq"


def test_blobs_name_their_contract_and_refuse_other_versions():
    snapshot = AssemblySnapshot(
        job_id=3,
        plan_key="jobs/3/plan/plan.json",
        segments=[AssemblySegment(index=0, source_text="Hi.", unit_translations=["안녕."])],
    )
    data = snapshot.dump()
    assert b'"contract":"translation.assembly.v1"' in data
    assert AssemblySnapshot.load(data) == snapshot
    with pytest.raises(BlobContractError, match=r"expected a translation\.plan\.v1"):
        JobPlan.load(data)  # another contract
    with pytest.raises(BlobContractError):
        AssemblySnapshot.load(b'{"segments": [{"index": 0}]}')  # the untyped old shape
    with pytest.raises(TypeError, match="version"):

        class Unversioned(BlobContract):
            CONTRACT: ClassVar[str] = "translation.unversioned"


def test_every_output_kind_has_one_file_name_and_media_type():
    assert set(OUTPUT_FILES) == set(OutputKind)
    assert len({f.suffix for f in OUTPUT_FILES.values()}) == len(OutputKind)
    assert download_name("My Book.epub", OutputKind.EPUB) == "My Book_translated.epub"
    assert download_name("notes", OutputKind.SEGMENTS) == "notes_segments.json"
    assert OUTPUT_FILES[OutputKind.BILINGUAL_TXT].media_type.startswith("text/plain")


def test_a_work_command_is_one_task_for_the_service_and_the_worker():
    from datetime import UTC, datetime

    from folio.contracts import AssembleJob, PlanJob, TaskStarted, TranslateSegment, task_of

    segment = TranslateSegment.model_construct(job_id=3, segment_index=4)
    assert task_of(segment) == ("translation", "translation.translate_segment", 4)
    assert task_of(PlanJob.model_construct(job_id=3)).name == "translation.plan_job"
    assert task_of(AssembleJob.model_construct(job_id=3)).segment_index is None
    # The fields a task row is made of are the fields a task event carries.
    event = TaskStarted(task_id="9", at=datetime.now(UTC), **task_of(segment)._asdict())
    assert (event.kind, event.name, event.segment_index) == tuple(task_of(segment))
