"""guardpolicy.dirs names the same folders as platformdirs (it answers itself on Linux to stay cheap)."""

from __future__ import annotations

import sys

import platformdirs
import pytest

from guardpolicy import dirs

VARIABLES = ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME")


@pytest.mark.skipif(sys.platform != "linux", reason="the hand-written XDG rules apply on Linux only")
@pytest.mark.parametrize("xdg", [None, "", "relative/dir", "/abs/xdg", "/abs/trailing/"])
@pytest.mark.parametrize("home", [None, "", "relative-home", "/home/someone", "/home/slash/"])
def test_same_folders_as_platformdirs(monkeypatch, xdg, home):
    for var in VARIABLES:
        if xdg is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, xdg)
    if home is None:
        monkeypatch.delenv("HOME", raising=False)
    else:
        monkeypatch.setenv("HOME", home)
    for app in ("guard", "guardpolicy"):
        assert dirs.user_cache_dir(app) == platformdirs.user_cache_dir(app, appauthor=False)
        assert dirs.user_config_dir(app) == platformdirs.user_config_dir(app, appauthor=False)
        assert dirs.user_log_dir(app) == platformdirs.user_log_dir(app, appauthor=False)


def test_other_platforms_ask_platformdirs(monkeypatch):
    monkeypatch.setattr(dirs.sys, "platform", "darwin")
    assert dirs.user_cache_dir("guard") == platformdirs.user_cache_dir("guard", appauthor=False)
    monkeypatch.setattr(dirs.sys, "platform", "linux")
    monkeypatch.setenv("ANDROID_DATA", "/data")
    assert not dirs._xdg_platform()
