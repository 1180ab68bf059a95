"""Value objects shared by several contracts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TokenUsage(BaseModel):
    model_config = ConfigDict(frozen=True)

    calls: int = Field(default=0, ge=0)
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    thinking_tokens: int = Field(default=0, ge=0)
    # Part of input_tokens served from the provider's prompt cache (billed lower).
    cached_input_tokens: int = Field(default=0, ge=0)
    # Tokens (input, output and thinking) of calls whose answer was never seen (a worker
    # killed or a command cancelled with them in flight), counted at their reservation.
    estimated_tokens: int = Field(default=0, ge=0)

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            calls=self.calls + other.calls,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            thinking_tokens=self.thinking_tokens + other.thinking_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            estimated_tokens=self.estimated_tokens + other.estimated_tokens,
        )
