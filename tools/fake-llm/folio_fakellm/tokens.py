"""Token estimate shared by both protocols.

Real tokenizers differ per vendor; clients only need a stable, monotone, cheap estimate so
that cost accounting and budget logic can be exercised. Four UTF-8 bytes per token is the
usual rule of thumb for English, and counting bytes (not characters) makes CJK output
"cost" more, as it does with real tokenizers.
"""

from __future__ import annotations

import math


def estimate_tokens(text: str) -> int:
    """Return ``max(1, ceil(len(text.encode("utf-8")) / 4))``."""
    return max(1, math.ceil(len(text.encode("utf-8")) / 4))
