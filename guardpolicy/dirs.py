"""The user's cache, config and log folders, named exactly as platformdirs names them.

On Linux these are the XDG rules, written out here because the first gated operation of every
hooked process needs them and importing platformdirs cost ~4 ms of a 5 ms budget. Everywhere
else (macOS, Windows, Android) platformdirs answers. ``tests/test_dirs.py`` compares both
across the variables that matter (absolute, relative and empty ``XDG_*``; ``HOME`` unset or
relative), so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

import os
import sys


def _xdg_platform() -> bool:
    """True where platformdirs uses its Unix (XDG) class and this module answers itself."""
    return sys.platform == "linux" and "ANDROID_DATA" not in os.environ and "ANDROID_ROOT" not in os.environ


def _home() -> str:
    """``HOME`` when absolute, else the password database's entry (platformdirs' ``expand_user``)."""
    home = os.environ.get("HOME", "")
    if not os.path.isabs(home):
        import pwd  # lazy: only when HOME is unset or relative

        home = pwd.getpwuid(os.getuid()).pw_dir
        if not os.path.isabs(home):
            raise RuntimeError("could not determine the home directory, set an absolute HOME or XDG variable")
    return home.rstrip("/") or "/"


def _xdg(variable: str, default: str) -> str:
    """``$variable`` when it is an absolute path, else ``~/default``."""
    path = os.environ.get(variable, "")
    return path if os.path.isabs(path) else os.path.join(_home(), default)


def user_cache_dir(appname: str) -> str:
    """``$XDG_CACHE_HOME/appname`` or ``~/.cache/appname`` on Linux; platformdirs' answer elsewhere."""
    if _xdg_platform():
        return os.path.join(_xdg("XDG_CACHE_HOME", ".cache"), appname)
    import platformdirs  # lazy: not needed on Linux

    return platformdirs.user_cache_dir(appname, appauthor=False)


def user_config_dir(appname: str) -> str:
    """``$XDG_CONFIG_HOME/appname`` or ``~/.config/appname`` on Linux; platformdirs' answer elsewhere."""
    if _xdg_platform():
        return os.path.join(_xdg("XDG_CONFIG_HOME", ".config"), appname)
    import platformdirs  # lazy: not needed on Linux

    return platformdirs.user_config_dir(appname, appauthor=False)


def user_log_dir(appname: str) -> str:
    """``$XDG_STATE_HOME/appname/log`` or ``~/.local/state/appname/log`` on Linux; platformdirs' answer elsewhere."""
    if _xdg_platform():
        return os.path.join(_xdg("XDG_STATE_HOME", os.path.join(".local", "state")), appname, "log")
    import platformdirs  # lazy: not needed on Linux

    return platformdirs.user_log_dir(appname, appauthor=False)
