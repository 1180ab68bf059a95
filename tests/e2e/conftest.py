"""Helpers shared by the end-to-end tests (real processes, real infrastructure)."""

from __future__ import annotations

import asyncio

import httpx
import pytest


@pytest.fixture
async def gateway(stack):
    async with httpx.AsyncClient(base_url=stack.config.url("gateway"), timeout=30) as client:
        yield client


@pytest.fixture
async def fake_llm(stack):
    async with httpx.AsyncClient(base_url=stack.config.url("fake-llm"), timeout=30) as client:
        yield client


async def submit(client: httpx.AsyncClient, token: str, name: str, body: bytes, **form) -> dict:
    response = await client.post(
        "/api/v1/jobs",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": (name, body, "text/plain")},
        data={k: str(v) for k, v in form.items()},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def wait_for_job(
    client: httpx.AsyncClient,
    token: str,
    job_id: int,
    timeout_s: float = 60,
    until: tuple[str, ...] = ("COMPLETED", "FAILED"),
) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        response = await client.get(
            f"/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        job = response.json()
        if job["status"] in until or job["status"] in ("COMPLETED", "FAILED"):
            return job
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"job {job_id} still {job['status']} after {timeout_s}s: {job}")
        await asyncio.sleep(0.2)


def book(paragraphs: int, words: int = 60, seed: str = "") -> str:
    """A book of distinct paragraphs (distinct so that order mistakes are visible)."""
    vocabulary = [
        "Gregor",
        "the",
        "window",
        "rain",
        "mother",
        "slowly",
        "door",
        "Grete",
        "bed",
        "voice",
        "clerk",
        "morning",
        "trembled",
        "sister",
        "looked",
    ]
    out = []
    for p in range(paragraphs):
        text = " ".join(vocabulary[(p * 7 + i * (p + 3)) % len(vocabulary)] for i in range(words))
        out.append(f"Paragraph {p}{seed}. {text.capitalize()}.")
    return "\n\n".join(out)
