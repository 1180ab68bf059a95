"""Exit codes and the one error every command reports the same way."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    JOB_UNFINISHED = 1  # the job ended FAILED or CANCELLED
    USAGE = 2  # bad arguments (Click's own code)
    AUTH = 3  # no token, or the gateway refused it
    NOT_FOUND = 4  # no such job (or not yours)
    REJECTED = 5  # the gateway refused the request (bad input, wrong state)
    SERVER = 6  # the gateway or a service failed
    UNREACHABLE = 7  # the gateway could not be reached
    PAUSED = 8  # the job paused (spending cap): resume it
    INTERRUPTED = 130  # Ctrl-C (the job goes on on the server)


EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 the job failed or was cancelled; 2 bad arguments; "
    "3 missing or refused token; 4 no such job; 5 request refused; 6 server error; "
    "7 gateway unreachable; 8 the job paused (resume it)."
)


class CliError(Exception):
    """A failure to report as one line on stderr, with its exit code."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def code_for_status(status: int) -> ExitCode:
    if status in (401, 403):
        return ExitCode.AUTH
    if status == 404:
        return ExitCode.NOT_FOUND
    if status >= 500:
        return ExitCode.SERVER
    return ExitCode.REJECTED
