"""A loaded ``Policy`` as plain data that ``marshal`` can store, and back, equal to the original.

The compiled policy cache (``guardpolicy.runtime.policy_cache``) keeps policies this way so a
process can skip reading, merging and validating TOML. ``marshal`` rather than JSON because it
keeps tuples apart from lists and sets from lists (``Policy`` equality depends on it) and loads
fastest; rather than pickle because it runs no code on load (and unpickling would pass guard's
own ``pickle.find_class`` gate). Dates, times and the policy dataclasses are tagged tuples.
Anything else (an object a plugin put into its rule defaults) raises ``TypeError``: such a
policy is simply not cached.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import fields

from .model import Layer, Policy, RuleSettings, Waiver

#: tags start with NUL: no TOML key or value and no rule default is a tuple starting with one
_DATACLASS, _DATETIME, _DATE, _TIME = "\0dc", "\0datetime", "\0date", "\0time"
_CLASSES = {cls.__name__: cls for cls in (Policy, Layer, RuleSettings, Waiver)}
_ATOMS = (str, int, bool, bytes, type(None))


def to_plain(value):
    """``value`` (a ``Policy`` or anything inside one) as nested dicts, lists, tuples and atoms."""
    if isinstance(value, _ATOMS):
        return value
    if isinstance(value, float):
        if math.isnan(value):  # NaN != NaN: a cached policy would never compare equal to itself
            raise TypeError("NaN in policy data")
        return value
    if isinstance(value, _dt.datetime):  # before date: a datetime is a date
        return (_DATETIME, value.isoformat())
    if isinstance(value, _dt.date):
        return (_DATE, value.isoformat())
    if isinstance(value, _dt.time):
        return (_TIME, value.isoformat())
    if type(value).__name__ in _CLASSES and type(value) is _CLASSES[type(value).__name__]:
        return (_DATACLASS, type(value).__name__, {f.name: to_plain(getattr(value, f.name)) for f in fields(value)})
    if type(value) is dict:
        return {to_plain(k): to_plain(v) for k, v in value.items()}
    if type(value) is list:
        return [to_plain(v) for v in value]
    if type(value) is tuple:
        return tuple(to_plain(v) for v in value)
    if type(value) in (set, frozenset) and all(isinstance(v, _ATOMS) for v in value):
        return value
    raise TypeError(f"cannot store {type(value).__name__} in a compiled policy")


def from_plain(value):
    """The inverse of ``to_plain``."""
    if type(value) is tuple:
        if len(value) == 3 and value[0] == _DATACLASS:
            cls = _CLASSES[value[1]]
            return cls(**{k: from_plain(v) for k, v in value[2].items()})
        if len(value) == 2 and value[0] == _DATETIME:
            return _dt.datetime.fromisoformat(value[1])
        if len(value) == 2 and value[0] == _DATE:
            return _dt.date.fromisoformat(value[1])
        if len(value) == 2 and value[0] == _TIME:
            return _dt.time.fromisoformat(value[1])
        return tuple(from_plain(v) for v in value)
    if type(value) is dict:
        return {from_plain(k): from_plain(v) for k, v in value.items()}
    if type(value) is list:
        return [from_plain(v) for v in value]
    return value
