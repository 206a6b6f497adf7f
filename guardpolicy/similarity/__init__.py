"""Name similarity for the ``typosquat`` rule.

- ``text``: small pure functions on names (PEP 503 canonical form, look-alike folding, affix and
  version stripping, combo splits, edit descriptions, model-name tokens and variants, org affixes);
- ``pypi``: ``PypiIndex``, a matcher over a ranked list of PyPI names;
- ``hub``: ``HubIndex``, a matcher over popular Hub repos and well-known orgs;
- ``data``: the shipped lists (``guardpolicy/data/``), loaded lazily, once per process;
- ``build``: regenerates the derived data file (``python -m guardpolicy.similarity.build``).

Nothing here is imported by the start-up hook; rapidfuzz is imported on the first fuzzy match.
"""
