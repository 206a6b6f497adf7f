"""Built-in plugin: the report formats shipped with guardpolicy."""

from __future__ import annotations

from ..hookspecs import hookimpl


@hookimpl
def guard_formats():
    from .json import JsonFormat
    from .text import TextFormat

    return {"text": TextFormat, "json": JsonFormat}
