"""Which project policy files apply to a working directory (``guard.toml`` / ``[tool.guard]``, upward).

Apart from the loader so that the runtime can ask it cheaply: the compiled policy cache
(``guardpolicy.runtime.policy_cache``) checks at every process start that discovery still finds
the same files, without importing the TOML loader.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping, Optional

from .trust import is_repository_root, say, untrusted_reason


def has_tool_guard(pyproject: Path) -> bool:
    """True when a ``pyproject.toml`` has a ``[tool.guard]`` table (however it is spelled)."""
    import tomllib  # lazy: only for a pyproject.toml that mentions guard

    from ..fileio import decode_utf8, read_bytes_limited

    try:
        data = read_bytes_limited(pyproject)
    except OSError:
        return False
    try:
        text = decode_utf8(data)
    except UnicodeDecodeError:
        # not UTF-8 but clearly meant to configure guard: pick it so the error is shown rather
        # than silently falling back to a looser policy
        text = data.decode("utf-8", errors="replace")
        return bool(re.search(r"^\s*\[\s*tool\s*\.\s*guard\b", text, re.M))
    if "guard" not in text:
        return False
    try:
        tool = tomllib.loads(text).get("tool", {})
        return isinstance(tool, dict) and "guard" in tool
    except tomllib.TOMLDecodeError:
        # broken TOML that clearly meant to configure guard: pick it so the error is shown
        return bool(re.search(r"^\s*\[\s*tool\s*\.\s*guard\b", text, re.M))


def discover_project_refs(cwd: Optional[Path] = None, env: Optional[Mapping[str, str]] = None) -> list[str]:
    """Project policy files from ``cwd`` up to the repository root, outermost first.

    In one folder ``guard.toml`` beats a ``pyproject.toml`` with ``[tool.guard]``. The search
    stops at the first folder holding ``.git`` (a cloned repository's parents are not its
    policy), and files another user owns or others may write are skipped with a warning
    (``trust.untrusted_reason``). A nested policy (a vendored subfolder's) is layered on the
    outer one and may only tighten it.
    """
    here = (cwd or Path.cwd()).resolve()
    found = []
    for folder in (here, *here.parents):
        for candidate in (folder / "guard.toml", folder / "pyproject.toml"):
            if not candidate.is_file():
                continue
            if candidate.name == "pyproject.toml" and not has_tool_guard(candidate):
                continue
            why = untrusted_reason(candidate)
            if why is not None:
                say(f"ignoring project policy {candidate}: {why}")
                continue
            found.append(str(candidate))
            break
        if is_repository_root(folder):
            break
    return found[::-1]
