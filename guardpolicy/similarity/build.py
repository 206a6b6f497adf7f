"""Regenerate the derived data files from the shipped lists: ``python -m guardpolicy.similarity.build``.

``pypi_cores.tsv`` is ``popular_cores(pypi_top.txt)``: the affix-stripped core of each
popular name, so start-up reads it instead of computing it. ``tests/test_typosquat_data.py``
fails when the file and the code disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path


def cores_text(names) -> str:
    """The text of ``pypi_cores.tsv`` for ``names`` (most popular first)."""
    from .pypi import popular_cores

    header = "# derived from pypi_top.txt by guardpolicy.similarity.build: core<TAB>popular name\n"
    return header + "".join(f"{core}\t{name}\n" for core, name in sorted(popular_cores(names).items()))


def main(argv=None) -> int:
    """Write ``guardpolicy/data/pypi_cores.tsv`` next to the package's ``pypi_top.txt``."""
    from . import data

    target = Path(__file__).resolve().parent.parent / "data" / "pypi_cores.tsv"
    target.write_text(cores_text(list(data.pypi_top())), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
