"""Nothing one user's own provider produced is served to another user, whatever the model
name: the translation memory and the response cache are scoped per owner and provider.
Real services; user A's "own endpoint" is a second fake model server that answers unlike
the deployment's."""

from __future__ import annotations

import uuid

import httpx

from folio_devstack.fakellm import running_fake_llm

from .conftest import submit, wait_for_job


def book(tag: str) -> bytes:
    return "\n\n".join(
        f"{tag} paragraph {p}. Gregor looked at Grete while the rain fell on the window, "
        f"and the clerk waited in the hall for an answer that did not come."
        for p in range(8)
    ).encode()


async def asked(url: str, tag: str) -> int:
    async with httpx.AsyncClient() as client:
        rows = (await client.get(url + "/_fake/requests")).json()
    return sum(1 for row in rows if tag in row["prompt"])


async def translation(gateway: httpx.AsyncClient, token: str, job_id: int) -> str:
    response = await gateway.get(
        f"/api/v1/download/{job_id}",
        params={"format": "txt"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return response.text


async def test_one_users_own_endpoint_never_serves_another_user(stack, gateway, dev_token):
    tag = f"tenant{uuid.uuid4().hex[:8]}"
    deployment = stack.config.url("fake-llm")
    # A's server answers with other (longer) renderings than the deployment's model.
    async with running_fake_llm(FAKE_LLM_LENGTH_RATIO_KO="0.9") as own:

        async def run(user: str, **form: str) -> tuple[dict, str]:
            token = dev_token(user)
            job = await submit(gateway, token, "same.txt", book(tag), segment_size=1000, **form)
            done = await wait_for_job(gateway, token, job["id"], timeout_s=120)
            assert done["status"] == "COMPLETED", done
            return done, await translation(gateway, token, done["id"])

        # The deployment's model name, on A's own server: what a planter would do.
        a_form = {
            "api_provider": "openai",
            "api_base_url": own + "/v1",
            "model_name": "fake-model",
            "api_key": f"a-{uuid.uuid4().hex}",
        }
        a_user, b_user = f"tenant-a-{tag}", f"tenant-b-{tag}"
        a_job, a_text = await run(a_user, **a_form)
        assert a_job["usage"]["calls"] > 0

        # B on the deployment's provider, same book, same model name: B's own calls.
        before = await asked(deployment, tag)
        b_job, b_text = await run(b_user)
        assert b_job["usage"]["calls"] > 0
        assert await asked(deployment, tag) > before
        assert b_text != a_text

        # B on the very endpoint and model A used: still B's own calls, never A's work.
        before = await asked(own, tag)
        b_own, _ = await run(b_user, **{**a_form, "api_key": f"b-{uuid.uuid4().hex}"})
        assert b_own["usage"]["calls"] > 0
        assert await asked(own, tag) > before

        # A's own next job reuses A's work: reuse is there, only never across users.
        before = await asked(own, tag)
        a_again, a_text_again = await run(a_user, **a_form)
        assert a_again["usage"]["calls"] == 0 and await asked(own, tag) == before
        assert a_text_again == a_text
