"""Moved to :mod:`starpy.menu.prompt`; this name still imports it."""
from __future__ import annotations

from starpy.menu.prompt import (
    DTMF_KEYS as DTMF_KEYS,
    Prompt as Prompt,
    PromptElement as PromptElement,
    AudioPrompt as AudioPrompt,
    NumberPrompt as NumberPrompt,
    DigitsPrompt as DigitsPrompt,
    AlphaPrompt as AlphaPrompt,
    DateTimePrompt as DateTimePrompt,
    SilencePrompt as SilencePrompt,
    TextPrompt as TextPrompt,
    toPrompt as toPrompt,
)

__all__ = [
    "DTMF_KEYS",
    "Prompt",
    "PromptElement",
    "AudioPrompt",
    "NumberPrompt",
    "DigitsPrompt",
    "AlphaPrompt",
    "DateTimePrompt",
    "SilencePrompt",
    "TextPrompt",
    "toPrompt",
]
