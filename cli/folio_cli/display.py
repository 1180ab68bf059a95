"""What the commands print: the live progress bar, job tables and job details."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

STAGES = {
    "PAUSED": "paused",
    "COMPLETED": "completed",
    "FAILED": "failed",
    "CANCELLED": "cancelled",
}


def stage(job: dict[str, Any]) -> str:
    """One word for where a job is: its phase while it runs, else its state."""
    status = job.get("status", "")
    if status in ("PENDING", "PROCESSING", "VALIDATING", "POST_EDITING"):  # PENDING: planning
        return job.get("phase") or status.lower()
    return STAGES.get(status, status.lower())


def used_tokens(job: dict[str, Any]) -> int:
    usage = job.get("usage") or {}
    return sum(usage.get(k, 0) for k in ("input_tokens", "output_tokens", "thinking_tokens"))


def estimated_tokens(job: dict[str, Any]) -> int | None:
    estimate = job.get("estimate") or {}
    total = estimate.get("total_tokens")
    return int(total) if total else None


def segments_text(job: dict[str, Any]) -> str:
    total = job.get("total_segments")
    return f"{job.get('translated_segments', 0)}/{total if total else '?'} segments"


def tokens_text(job: dict[str, Any]) -> str:
    text = f"{used_tokens(job):,} tokens"
    estimate = estimated_tokens(job)
    return f"{text} (estimate {estimate:,})" if estimate else text


def untranslated_line(job: dict[str, Any]) -> str | None:
    """What to do about passages the model could not translate (kept marked in the
    outputs), or None when there are none."""
    count = job.get("failed_units") or 0
    if not count:
        return None
    passages = "passage" if count == 1 else "passages"
    return f"{count} {passages} left untranslated — `folio retranslate {job['id']} --failed`"


def summary_line(job: dict[str, Any]) -> str:
    calls = (job.get("usage") or {}).get("calls", 0)
    return (
        f"job {job['id']} {stage(job)}: {job.get('progress', 0)}% · {segments_text(job)} · "
        f"{tokens_text(job)} · {calls} model calls"
    )


class JobProgress:
    """A progress bar for one job plus a line for each change of stage (the lines are
    what a log or a non-terminal output keeps)."""

    def __init__(self, console: Console, job: dict[str, Any]) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]{task.fields[stage]:<11}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[segments]}"),
            TextColumn("{task.fields[tokens]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self.task: TaskID | None = None
        self.job = job
        self.stage: str | None = None

    def __enter__(self) -> JobProgress:
        self.progress.start()
        self.task = self.progress.add_task(
            "job", total=100, stage="", segments="", tokens="", completed=0
        )
        self.update(self.job)
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def status(self, change: dict[str, Any]) -> None:
        """A ``status`` event: the job's state or phase changed."""
        self.update({**self.job, **change})

    def segment(self, event: dict[str, Any]) -> None:
        self.update({**self.job, **{k: v for k, v in event.items() if k != "segment_index"}})

    def update(self, job: dict[str, Any]) -> None:
        self.job = job
        self._announce(job)
        assert self.task is not None
        self.progress.update(
            self.task,
            completed=job.get("progress", 0),
            stage=stage(job),
            segments=segments_text(job),
            tokens=tokens_text(job),
        )

    def _announce(self, job: dict[str, Any]) -> None:
        now = stage(job)
        if now == self.stage:
            return
        self.stage = now
        detail = job.get("error_message") or job.get("status_detail")
        line = f"job {job['id']}: {now}"
        self.progress.console.print(f"{line}: {detail}" if detail else line, highlight=False)


def jobs_table(jobs: list[dict[str, Any]]) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    for column in ("id", "file", "status", "progress", "segments", "target", "created"):
        table.add_column(column, no_wrap=column in ("id", "created"))
    for job in jobs:
        table.add_row(
            str(job["id"]),
            job.get("filename", ""),
            stage(job) + (f", {n} untranslated" if (n := job.get("failed_units")) else ""),
            f"{job.get('progress', 0)}%",
            segments_text(job).removesuffix(" segments"),
            job.get("target_language", ""),
            (job.get("created_at") or "")[:19].replace("T", " "),
        )
    return table


def job_details(job: dict[str, Any]) -> str:
    """``name  value`` lines (one per field, never wrapped: easy to read and to grep)."""
    usage = job.get("usage") or {}
    rows = [
        ("id", str(job["id"])),
        ("file", job.get("filename", "")),
        ("status", job.get("status", "")),
        ("phase", job.get("phase", "")),
        ("progress", f"{job.get('progress', 0)}%"),
        ("segments", segments_text(job)),
        ("languages", f"{job.get('source_language') or '?'} → {job.get('target_language')}"),
        ("mode", job.get("mode", "")),
        ("model", job.get("model", "")),
        ("spending cap", f"{job['max_tokens']:,} tokens" if job.get("max_tokens") else "none"),
        (
            "usage",
            f"{usage.get('calls', 0)} calls, {usage.get('input_tokens', 0):,} in / "
            f"{usage.get('output_tokens', 0):,} out / {usage.get('thinking_tokens', 0):,} "
            "thinking tokens",
        ),
        ("estimate", estimate_text(job.get("estimate"))),
        ("outputs", ", ".join(job.get("outputs") or []) or "none yet"),
        ("untranslated", marked_text(job)),
        ("created", job.get("created_at") or ""),
        ("completed", job.get("completed_at") or ""),
        ("detail", job.get("status_detail") or ""),
        ("error", job.get("error_message") or ""),
    ]
    return "\n".join(f"{name:<13}{value}" for name, value in rows if value)


def marked_text(job: dict[str, Any]) -> str:
    """``2 passages in segments 3, 7`` (empty when every passage was translated)."""
    count, indices = job.get("failed_units") or 0, job.get("failed_segments") or []
    if not count:
        return ""
    where = ", ".join(str(i) for i in indices[:20]) + (", …" if len(indices) > 20 else "")
    passages = "passage" if count == 1 else "passages"
    segments = "segment" if len(indices) == 1 else "segments"
    return f"{count} {passages} in {segments} {where}"


def plan_text(plan: dict[str, Any] | None) -> str:
    """The planner's choice of call sizes and its predicted time, in one line."""
    if not plan:
        return ""
    minutes, seconds = divmod(round(plan.get("predicted_s") or 0), 60)
    took = f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"
    if plan.get("bound") == "requests":
        why = f"requests-bound at {plan.get('requests_per_minute')} requests/min: fewer, larger"
    else:
        why = "latency-bound: smaller, parallel"
    return f"{why} calls ({plan.get('calls', 0)} planned), about {took}"


def estimate_text(estimate: dict[str, Any] | None) -> str:
    if not estimate:
        return ""
    parts = []
    for phase in ("analysis", "translation"):
        numbers = estimate.get(phase) or {}
        if numbers.get("calls"):
            tokens = numbers.get("input_tokens", 0) + numbers.get("output_tokens", 0)
            parts.append(f"{phase} {numbers['calls']} calls, {tokens:,} tokens")
    total = estimate.get("total_tokens")
    return f"{total:,} tokens ({'; '.join(parts)})" if parts else f"{total or 0:,} tokens"
