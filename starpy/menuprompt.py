"""Moved to :mod:`starpy.menu.prompt`; this name still imports it."""
from __future__ import annotations

from starpy.menu.prompt import (
    DTMF_KEYS as DTMF_KEYS,
)
from starpy.menu.prompt import (
    AlphaPrompt as AlphaPrompt,
)
from starpy.menu.prompt import (
    AudioPrompt as AudioPrompt,
)
from starpy.menu.prompt import (
    DateTimePrompt as DateTimePrompt,
)
from starpy.menu.prompt import (
    DigitsPrompt as DigitsPrompt,
)
from starpy.menu.prompt import (
    NumberPrompt as NumberPrompt,
)
from starpy.menu.prompt import (
    Prompt as Prompt,
)
from starpy.menu.prompt import (
    PromptElement as PromptElement,
)
from starpy.menu.prompt import (
    SilencePrompt as SilencePrompt,
)
from starpy.menu.prompt import (
    TextPrompt as TextPrompt,
)
from starpy.menu.prompt import (
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
