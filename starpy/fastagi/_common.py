"""The FastAGI logger (private: ``starpy.fastagi`` re-exports it)."""
from __future__ import annotations

import logging

log = logging.getLogger("starpy.fastagi")
