"""Shared fixtures for the fake LLM tests: an in-process app and an httpx client for it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from fastapi import FastAPI

from folio_fakellm.app import create_app
from folio_fakellm.settings import FakeLLMSettings

# Public-domain prose (Dickens, A Christmas Carol, 1843; Carroll, Alice, 1865), deliberately
# different from the calibration passage inside the package.
BOOK = """\
Marley was dead: to begin with. There is no doubt whatever about that. The register of his \
burial was signed by the clergyman, the clerk, the undertaker, and the chief mourner. Scrooge \
signed it: and Scrooge's name was good upon 'Change, for anything he chose to put his hand to. \
Old Marley was as dead as a door-nail.

Mind! I don't mean to say that I know, of my own knowledge, what there is particularly dead \
about a door-nail. I might have been inclined, myself, to regard a coffin-nail as the deadest \
piece of ironmongery in the trade. But the wisdom of our ancestors is in the simile; and my \
unhallowed hands shall not disturb it, or the Country's done for. You will therefore permit me \
to repeat, emphatically, that Marley was as dead as a door-nail.

Scrooge knew he was dead? Of course he did. How could it be otherwise? Scrooge and he were \
partners for I don't know how many years. Scrooge was his sole executor, his sole \
administrator, his sole assign, his sole residuary legatee, his sole friend, and sole mourner.

Alice was beginning to get very tired of sitting by her sister on the bank, and of having \
nothing to do: once or twice she had peeped into the book her sister was reading, but it had \
no pictures or conversations in it, "and what is the use of a book," thought Alice "without \
pictures or conversations?"

So she was considering in her own mind (as well as she could, for the hot day made her feel \
very sleepy and stupid), whether the pleasure of making a daisy-chain would be worth the \
trouble of getting up and picking the daisies, when suddenly a White Rabbit with pink eyes \
ran close by her.

There was nothing so very remarkable in that; nor did Alice think it so very much out of the \
way to hear the Rabbit say to itself, "Oh dear! Oh dear! I shall be late!" (when she thought \
it over afterwards, it occurred to her that she ought to have wondered at this, but at the \
time it all seemed quite natural); but when the Rabbit actually took a watch out of its \
waistcoat-pocket, and looked at it, and then hurried on, Alice started to her feet.
"""

SAMPLE = (
    "One morning, when Gregor Samsa woke from troubled dreams, he found himself transformed "
    'in his bed into a horrible vermin. Gregor looked at his sister Grete. "Mother!" said '
    "Grete to Mrs. Samsa. The clock struck 7 times; Gregor did not move."
)

MakeClient = Callable[..., httpx.AsyncClient]


@pytest.fixture
def book() -> str:
    """About 3.5 kB of English prose (several paragraphs)."""
    return BOOK


@pytest.fixture
def sample() -> str:
    """A short passage with the names Gregor, Samsa and Grete."""
    return SAMPLE


@pytest.fixture(autouse=True)
def _clean_fake_llm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests state their settings explicitly; ambient FAKE_LLM_* variables must not leak in."""
    for name in list(os.environ):
        if name.startswith("FAKE_LLM_"):
            monkeypatch.delenv(name)


@pytest.fixture
def app() -> FastAPI:
    return create_app(FakeLLMSettings())


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as c:
        yield c


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    """Build a client for an app with custom settings (keyword arguments)."""
    clients: list[httpx.AsyncClient] = []

    def build(**overrides: object) -> httpx.AsyncClient:
        app = create_app(FakeLLMSettings(**overrides))  # type: ignore[arg-type]
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fake")
        clients.append(c)
        return c

    yield build
    for c in clients:
        await c.aclose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


SpawnServer = Callable[[dict[str, str]], str]


@pytest.fixture(scope="session")
def spawn_server() -> Iterator[SpawnServer]:
    """Start ``python -m folio_fakellm`` on a free port with extra env; returns its base URL."""
    procs: list[subprocess.Popen[bytes]] = []

    def spawn(env: dict[str, str]) -> str:
        port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "folio_fakellm", "--port", str(port)],
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("FAKE_LLM_")},
                "FAKE_LLM_LOG_LEVEL": "warning",
                **env,
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        # A deadline, not a measure: starting takes seconds, and many more on a loaded CI box.
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return base
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr and proc.poll() is not None else ""
                raise RuntimeError(f"fake LLM did not start: {err}")
            time.sleep(0.1)

    yield spawn
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
