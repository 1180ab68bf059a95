"""How much text one model call gets: a unit's size from the job and from the model.

A unit is at most the job's ``segment_size`` and the deployment's ceiling
(``FOLIO_UNIT_SIZE``, chosen for parallelism: several units of a segment run at once), and
never more than the model can take and give back: its context window must hold the prompt
(about twice the unit, with instructions, glossary and neighbouring text) and the answer,
and the answer must fit its output limit with room to spare. Sizes are in characters of
the source, converted with the script tables of ``ratios.py``.
"""

from __future__ import annotations

from folio.contracts.providers import ProviderConfig
from folio_worker.engine.ratios import bytes_per_char, typical_ratio

MIN_UNIT = 300
PROMPT_SHARE = 0.45  # of the context window, for the unit's source inside the prompt
ANSWER_SHARE = 0.6  # of the output limit, for the expected answer (answers vary)

# (context window, output limit) in tokens by model family, as documented by providers.
_WINDOWS: tuple[tuple[str, int, int], ...] = (
    ("gemini", 1_048_576, 65_536),
    ("gpt-4.1", 1_047_576, 32_768),
    ("gpt-4o", 128_000, 16_384),
    ("gpt-5", 400_000, 128_000),
    ("o3", 200_000, 100_000),
    ("o4", 200_000, 100_000),
    ("claude", 200_000, 8_192),
)
DEFAULT_WINDOW = (32_768, 8_192)  # an unknown or local model (vLLM's common default)


def model_window(config: ProviderConfig | None) -> tuple[int, int]:
    """The model's context window and output limit in tokens (the job's provider settings
    win over the family table)."""
    window, output = DEFAULT_WINDOW
    if config is not None:
        name = config.model.lower()
        for prefix, known_window, known_output in _WINDOWS:
            if prefix in name:
                window, output = known_window, known_output
                break
        window = config.context_window or window
        output = min(config.max_output_tokens or output, window // 2)
    return window, output


def unit_size(
    *,
    segment_size: int,
    ceiling: int,
    window: tuple[int, int],
    source_script: str,
    target_script: str,
) -> int:
    context, output = window
    source_bytes = bytes_per_char(source_script)
    answer_bytes = typical_ratio(source_script, target_script) * bytes_per_char(target_script)
    by_prompt = context * PROMPT_SHARE * 4 / (2 * source_bytes + answer_bytes)
    by_answer = output * ANSWER_SHARE * 4 / answer_bytes
    return max(MIN_UNIT, int(min(segment_size, ceiling, by_prompt, by_answer)))


def neighbour_sizes(unit_chars: int) -> tuple[int, int]:
    """Characters of source shown before and after a unit, in proportion to the unit (a
    model with a small window gets small units and little context around them)."""
    before = min(1500, max(200, unit_chars // 4))
    after = min(600, max(100, unit_chars // 8))
    return before, after
