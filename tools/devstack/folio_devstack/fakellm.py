"""A fake LLM server as its own process, for tests that call it over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator

import httpx

from folio_devstack.stack import free_port


@contextlib.asynccontextmanager
async def running_fake_llm(**env: str) -> AsyncIterator[str]:
    """Start ``folio_fakellm`` on a free port with these ``FAKE_LLM_*`` settings; yield its
    base URL once it answers, and stop it afterwards."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "folio_fakellm",
        "--port",
        str(port),
        env={**os.environ, "FAKE_LLM_LOG_LEVEL": "warning", **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(600):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url + "/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError("the fake LLM server did not start")
        yield url
    finally:
        process.terminate()
        await process.wait()
