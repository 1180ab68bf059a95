"""The demonstration ``make up`` runs: translate a book through the gateway, like a client."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from tqdm import tqdm

from folio_devstack.follow import job_updates
from folio_devstack.stack import Stack
from folio_devstack.tokens import mint_dev_token


async def translate_book(
    stack: Stack, book: Path, out_dir: Path, *, user_id: str = "demo-user"
) -> Path:
    token = mint_dev_token(stack.config.state_dir, user_id)
    headers = {"Authorization": f"Bearer {token}"}
    base = stack.config.url("gateway")
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        with book.open("rb") as handle:
            response = await client.post(
                "/api/v1/jobs", files={"file": (book.name, handle, "text/plain")}
            )
        response.raise_for_status()
        job = response.json()
        print(f"job {job['id']} created for {book.name} ({job['status']})", flush=True)
        started = time.monotonic()
        with tqdm(total=100, unit="%", desc="translating", ncols=80) as bar:
            async for update in job_updates(client, job["id"], headers):
                job = update
                if job.get("total_segments"):
                    done, total = job["translated_segments"], job["total_segments"]
                    bar.set_postfix_str(f"{done}/{total} segments", refresh=False)
                bar.update(max(0, job["progress"] - bar.n))
        if job["status"] != "COMPLETED":
            raise RuntimeError(f"job {job['id']} failed: {job.get('error_message')}")
        download = (await client.get(f"/api/v1/download/{job['id']}")).raise_for_status()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{book.stem}_translated.txt"
    target.write_bytes(download.content)
    usage = job["usage"]
    print(
        f"done in {time.monotonic() - started:.1f}s: {job['total_segments']} segments, "
        f"{usage['calls']} model calls, {usage['input_tokens']} input / "
        f"{usage['output_tokens']} output tokens",
        flush=True,
    )
    return target
