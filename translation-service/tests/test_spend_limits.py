"""What a job's commands tell the worker to check before every model call: the job's cap
and what it had spent, and, on the deployment's own key only, the owner's daily allowance
under an id that does not name them."""

from __future__ import annotations

from sqlalchemy import select
from translation_wire import auth, upload

from folio.contracts import PlanJob
from folio_devstack.pytest_plugin import running_app
from folio_translation.main import create_app
from folio_translation.models import MESSAGING, Job
from folio_translation.service.usage import spend_limits
from folio_translation.settings import TranslationSettings


def test_the_daily_allowance_applies_to_the_deployments_key_only() -> None:
    own = Job(owner_id="erin", max_tokens=900, input_tokens=100, output_tokens=20)
    limits = spend_limits(own, 5000)
    assert (limits.max_tokens, limits.spent_tokens) == (900, 120)
    assert limits.quota is not None and limits.quota.tokens_per_day == 5000
    assert "erin" not in limits.quota.holder
    assert spend_limits(Job(owner_id="erin"), 5000).quota.holder == limits.quota.holder
    assert spend_limits(Job(owner_id="frank"), 5000).quota.holder != limits.quota.holder
    with_key = Job(owner_id="erin", credentials="sealed-user-key")
    assert spend_limits(with_key, 5000).quota is None  # the user pays their own provider
    assert spend_limits(own, None).quota is None  # no allowance configured


async def test_a_new_jobs_plan_command_carries_its_limits(
    test_database, module_amqp_url, internal_public_key, internal_signer, tmp_path
):
    settings = TranslationSettings(
        database_url=test_database.url("translation"),
        rabbitmq_url=module_amqp_url,
        storage_dir=tmp_path / "storage",
        internal_token_public_key=internal_public_key,
        user_daily_tokens=20_000,
        outbox_poll_interval_s=0.2,
    )
    app = create_app(settings)
    async with running_app(app) as client:
        created = await client.post(
            "/api/v1/jobs", headers=auth(internal_signer, "gina"), **upload(max_tokens="7000")
        )
        assert created.status_code == 200, created.text
        async with app.state.database.transaction() as session:
            envelopes = (
                (
                    await session.execute(
                        select(MESSAGING.outbox.c.envelope).where(
                            MESSAGING.outbox.c.envelope["type"].as_string() == PlanJob.TYPE
                        )
                    )
                )
                .scalars()
                .all()
            )
    (command,) = [e["data"] for e in envelopes if e["data"]["job_id"] == created.json()["id"]]
    assert command["spend"]["max_tokens"] == 7000
    assert command["spend"]["quota"]["tokens_per_day"] == 20_000
    assert "gina" not in command["spend"]["quota"]["holder"]
