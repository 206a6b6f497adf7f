"""Where guard's per-user configuration lives (the bottom of ``policy/``: imports nothing of it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Optional


def user_config_dir(env: Optional[Mapping[str, str]] = None) -> Path:
    """``GUARD_CONFIG_DIR`` or the platform's user config dir for ``guard``."""
    env = os.environ if env is None else env
    if env.get("GUARD_CONFIG_DIR"):
        return Path(env["GUARD_CONFIG_DIR"])
    from ..dirs import user_config_dir as _ucd

    return Path(_ucd("guard"))
