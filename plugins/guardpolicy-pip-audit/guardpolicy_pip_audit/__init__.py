"""guardpolicy-pip-audit: the ``vulnerability`` rule for guardpolicy.

Known vulnerabilities of exactly pinned packages, from an offline OSV database (a folder or
zip of OSV JSON records, as OSV publishes ``PyPI/all.zip``) or, when the user allows network
look-ups (``guard check --online``), from pip-audit's OSV or PyPI service. Nothing audited is
ever installed or built: only (name, version) pairs are looked up.
"""

__version__ = "0.1.0"
