"""Rate-aware planning as a user sees it: the estimate of a job (API and ``folio estimate``)
says whether the provider's requests-per-minute limit or latency decides the call sizes,
and what that predicts.

The jobs are capped at one token, so they pause before their first model call with the
estimate stored: planning, not translating, is under test. Sizes are not asserted (they
follow the model's limits); the relations between the two plans are.
"""

from __future__ import annotations

import re
import uuid

from .conftest import book, submit, wait_for_job
from .test_e2e_cli import run_folio

RPM = 15
# Large enough that pacing at 15 requests a minute, not the calls' length, decides.
BOOK = book(360, words=70)


def own_provider(stack, **extra: object) -> dict[str, object]:
    return {
        "api_provider": "openai",
        "api_base_url": stack.config.url("fake-llm") + "/v1",
        "model_name": "gpt-4o-mini",
        "api_key": f"sk-plan-{uuid.uuid4().hex}",
        **extra,
    }


async def planned(gateway, token: str, name: str, **form: object) -> dict:
    job = await submit(
        gateway, token, name, BOOK.encode(), target_language="ko", turbo_mode="true",
        max_tokens=1, **form,
    )  # fmt: skip
    return await wait_for_job(gateway, token, job["id"], timeout_s=120, until=("PAUSED",))


async def test_a_requests_per_minute_limit_plans_fewer_larger_calls(stack, gateway, dev_token):
    token = dev_token(f"plan-{uuid.uuid4().hex[:6]}")
    limited = await planned(
        gateway, token, "limited.txt", **own_provider(stack, requests_per_minute=RPM)
    )
    free = await planned(gateway, token, "free.txt", **own_provider(stack))
    assert limited["status"] == free["status"] == "PAUSED"
    assert limited["total_segments"] == free["total_segments"]  # the same book, segmented alike
    paced, parallel = limited["estimate"]["plan"], free["estimate"]["plan"]

    assert paced["bound"] == "requests" and paced["requests_per_minute"] == RPM
    assert parallel["bound"] == "latency" and parallel["requests_per_minute"] is None
    # every call but the first waits for its slot of 60/15 = 4 s
    assert paced["predicted_s"] >= (paced["calls"] - 1) * 60 / RPM > 0
    # fewer, larger calls: planned, and in the translation estimate the user is shown
    assert 1 <= paced["calls"] < parallel["calls"]
    assert paced["unit_size"] > parallel["unit_size"]
    limited_calls = limited["estimate"]["translation"]["calls"]
    assert 1 <= limited_calls < free["estimate"]["translation"]["calls"]
    # the latency-bound plan of the same book would take longer under the limit
    assert (parallel["calls"] - 1) * 60 / RPM > paced["predicted_s"]


async def test_folio_estimate_prints_the_plan_it_chose(stack, dev_token, tmp_path):
    url, token = stack.config.url("gateway"), dev_token(f"plan-cli-{uuid.uuid4().hex[:6]}")
    path = tmp_path / "paced.txt"
    path.write_text(BOOK)
    common = ("--to", "ko", "--turbo", "--provider", "openai", "--model", "gpt-4o-mini")
    base = ("--base-url", stack.config.url("fake-llm") + "/v1")
    key = {"FOLIO_API_KEY": f"sk-plan-{uuid.uuid4().hex}"}
    paced = await run_folio(
        "estimate", str(path), *common, *base, "--rpm", str(RPM),
        url=url, token=token, cwd=tmp_path, **key,
    )  # fmt: skip
    assert paced.returncode == 0, paced.stderr
    shown = re.search(
        rf"^  plan: requests-bound at {RPM} requests/min: fewer, larger calls "
        r"\((\d+) planned\), about (?:(\d+)m )?(\d+)s$",
        paced.stdout,
        re.M,
    )
    assert shown, paced.stdout
    calls, seconds = int(shown[1]), int(shown[2] or 0) * 60 + int(shown[3])
    assert seconds >= (calls - 1) * 60 / RPM

    free = await run_folio(
        "estimate", str(path), *common, *base, url=url, token=token, cwd=tmp_path, **key
    )
    assert free.returncode == 0, free.stderr
    parallel = re.search(r"^  plan: latency-bound: smaller, parallel calls \((\d+) planned\)",
                         free.stdout, re.M)  # fmt: skip
    assert parallel, free.stdout
    assert int(parallel[1]) > calls
