"""Built-in plugin: the report formats shipped with guardpolicy."""

from __future__ import annotations

from ..hookspecs import hookimpl


@hookimpl
def guard_formats():
    """The shipped report formats by name."""
    from .cyclonedx import CycloneDxFormat
    from .json import JsonFormat
    from .markdown import MarkdownFormat
    from .sarif import SarifFormat
    from .text import TextFormat

    return {"text": TextFormat, "json": JsonFormat, "sarif": SarifFormat, "markdown": MarkdownFormat,
            "cyclonedx": CycloneDxFormat}
