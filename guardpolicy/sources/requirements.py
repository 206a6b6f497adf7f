"""pip requirements files, read the way pip reads them.

This mirrors ``pip/_internal/req/req_file.py`` and ``req/constructors.py`` (pip 23-25):

* lines are joined on a trailing ``\\`` (not after a comment), comments are ``#`` at the
  start of a line or after white space (so ``#egg=`` and ``#sha256=`` inside URLs stay),
  ``${VAR}`` (upper case, digits, ``_``) is expanded from the environment when set;
* a line splits into requirement text and options at the first token starting with ``-``;
  options are parsed with ``optparse`` using pip's own option table, so abbreviations
  (``--extra-index``) and ``-rfile`` work exactly as in pip;
* ``-r``/``-c`` include files relative to the including file; ``-r`` inside a ``-c`` file
  is a requirements file again (pip does the same);
* index options are global to an install in pip, wherever they appear: every requirement
  gets the effective set of the whole tree (``--index-url`` replaces earlier index URLs,
  ``--extra-index-url`` adds, ``--no-index`` drops them all, ``--find-links`` adds).

Where pip would stop with an error, this reader reports an ``invalid`` finding naming
file and line and reads on: one bad line never hides the rest of the file. Nothing is
fetched: remote includes are reported, not downloaded.
"""

from __future__ import annotations

import codecs
import optparse
import os
import re
import shlex
from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator, Mapping, Optional, Tuple

from ..facts import pinned_version  # noqa: F401  (re-exported: sources and tests use it from here)
from ..fileio import read_bytes_limited

# file-name parsers live in guardpolicy.filenames; re-exported here for callers and tests
from ..filenames import SDIST_SUFFIXES, WHEEL_RE, base_name, sdist_name_version  # noqa: F401
from ..filenames import wheel_name_version as _wheel_name_version
from ..model import Finding, IndexRef, Location, PackageRef
from .interface import Source, SourceError

#: pip's default index; in effect unless ``--index-url`` or ``--no-index`` says otherwise
DEFAULT_INDEX = "https://pypi.org/simple"

# ``(^|\s+)#.*$`` is pip's COMMENT_RE: a ``#`` glued to text (``#egg=``) is not a comment.
COMMENT_RE = re.compile(r"(^|\s+)#.*$")
# pip expands only ``${NAME}`` with POSIX upper-case names, so a stray ``$`` stays literal.
ENV_VAR_RE = re.compile(r"\$\{([A-Z0-9_]+)\}")
SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
CODING_RE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-_.a-zA-Z0-9]+)")
EGG_RE = re.compile(r"[#&]egg=([^&]*)")
EGG_NAME_RE = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)(\[[^\]]*\])?$")
# a name (and extras) followed by a version part: ``pkg==1.2``, ``pkg[x]>=1``
EGG_NAME_PREFIX_RE = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)(\[[^\]]*\])?\s*(?:[<>=!~;]|$)")
EXTRAS_SUFFIX_RE = re.compile(r"^(.+)(\[[^\]]+\])$")
HASH_FRAGMENT_RE = re.compile(r"[#&](sha1|sha224|sha256|sha384|sha512|md5)=([0-9a-fA-F]+)")

#: URL schemes pip accepts for a requirement (``pip._internal.vcs.is_url``), plus plain
#: ``git:``/``hg:``/``bzr:`` which pip accepts for ``-e`` (it prefixes ``git+``).
VCS_NAMES = ("git", "hg", "svn", "bzr")
PLAIN_URL_SCHEMES = frozenset({"http", "https", "file", "ftp"})
VCS_SCHEMES = frozenset({
    "git+http", "git+https", "git+ssh", "git+git", "git+file", "git",
    "hg+file", "hg+http", "hg+https", "hg+ssh", "hg+static-http",
    "svn", "svn+ssh", "svn+http", "svn+https", "svn+svn", "svn+file",
    "bzr+http", "bzr+https", "bzr+ssh", "bzr+sftp", "bzr+ftp", "bzr+lp", "bzr+file",
})
ARCHIVE_EXTENSIONS = (".whl", ".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz", ".tar.xz", ".txz",
                      ".tlz", ".tar.lz", ".tar.lzma")
#: pip's STRONG_HASHES: the only algorithms ``--hash`` accepts
HASH_ALGORITHMS = ("sha256", "sha384", "sha512")

#: options that act on the requirement of their own line (pip's SUPPORTED_OPTIONS_REQ)
REQUIREMENT_OPTIONS = ("hashes", "global_options", "config_settings")
INCLUDE_OPTIONS = ("requirements", "constraints")
#: a bound on -r/-c nesting, far beyond real trees, so a generated chain cannot exhaust the stack
MAX_INCLUDE_DEPTH = 64
#: after this many unreadable lines a file is clearly not a requirements file: stop reading it
#: (one more finding says so) instead of reporting every line of a binary or generated blob
MAX_INVALID_PER_FILE = 200


DEFAULT_INVALID_HINT = ("fix the line (see https://pip.pypa.io/en/stable/reference/requirements-file-format/); "
                        "pip would refuse it or ignore part of it")


class LineError(ValueError):
    """One logical line cannot be read; the message says why (file and line are added later)."""


# --------------------------------------------------------------------------- lines


def decode_requirements(data: bytes) -> Tuple[str, Optional[str]]:
    """Decode file bytes like pip's ``auto_decode``: BOM, then a ``coding:`` cookie, then UTF-8.

    Returns ``(text, problem)``; ``problem`` is set when bytes had to be replaced, so the
    caller can report it instead of reading a silently mangled file.
    """
    for bom, encoding in ((codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF32_LE, "utf-32-le"),
                          (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_BE, "utf-16-be"),
                          (codecs.BOM_UTF16_LE, "utf-16-le")):
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, errors="replace"), None
    encoding = "utf-8"
    for line in data.split(b"\n")[:2]:
        match = CODING_RE.match(line)
        if match:
            encoding = match.group(1).decode("ascii")
            break
    try:
        return data.decode(encoding), None
    except LookupError:
        return data.decode("utf-8", errors="replace"), f"unknown encoding {encoding!r} in coding declaration"
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return data.decode(encoding, errors="replace"), f"line {line} is not valid {encoding}"


def join_lines(lines: Iterable[Tuple[int, str]]) -> Iterator[Tuple[int, str]]:
    """Join lines ending in ``\\`` with the next one; the result keeps the first line's number.

    Like pip, a comment line ending in ``\\`` does not continue, and a file ending in a
    continuation yields what it has.
    """
    first: Optional[int] = None
    parts: list[str] = []
    for number, line in lines:
        if not line.endswith("\\") or COMMENT_RE.match(line):
            if COMMENT_RE.match(line):
                line = " " + line  # so the comment is still recognised after joining
            if parts:
                parts.append(line)
                yield first, "".join(parts)  # type: ignore[misc]
                parts = []
            else:
                yield number, line
        else:
            if not parts:
                first = number
            parts.append(line.strip("\\"))
    if parts:
        yield first, "".join(parts)  # type: ignore[misc]


def strip_comment(line: str) -> str:
    """Remove a ``#`` comment (at the start or after white space) and surrounding blanks."""
    return COMMENT_RE.sub("", line).strip()


def expand_env_vars(line: str, env: Mapping[str, str]) -> str:
    """Replace ``${NAME}`` with ``env[NAME]`` when set and non-empty; leave it otherwise (pip)."""
    def sub(match: re.Match) -> str:
        return env.get(match.group(1)) or match.group(0)

    return ENV_VAR_RE.sub(sub, line)


def logical_lines(text: str, env: Mapping[str, str]) -> Iterator[Tuple[int, str]]:
    """Number, join, de-comment and expand a file's text: pip's ``preprocess``."""
    for number, line in join_lines(enumerate(text.splitlines(), start=1)):
        line = strip_comment(line)
        if line:
            yield number, expand_env_vars(line, env)


def break_args_options(line: str) -> Tuple[str, str]:
    """Split at the first space-separated token starting with ``-``: (requirement, options).

    pip keeps the requirement part away from ``shlex`` because markers contain quotes.
    """
    tokens = line.split(" ")
    for i, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:i]), " ".join(tokens[i:])
    return line, ""


# --------------------------------------------------------------------------- options


class _Parser(optparse.OptionParser):
    """optparse with pip's requirements-file options; errors raise ``LineError``."""

    def error(self, msg):  # noqa: D401 - optparse API
        """Raise instead of printing and exiting."""
        raise LineError(msg)


def _build_option_parser() -> _Parser:
    """pip's SUPPORTED_OPTIONS + SUPPORTED_OPTIONS_REQ (same names, same dests)."""
    p = _Parser(add_help_option=False)
    add = p.add_option
    add("-i", "--index-url", "--pypi-url", dest="index_url")
    add("--extra-index-url", dest="extra_index_urls", action="append")
    add("--no-index", dest="no_index", action="store_true")
    add("-c", "--constraint", dest="constraints", action="append")
    add("-r", "--requirement", dest="requirements", action="append")
    add("-e", "--editable", dest="editables", action="append")
    add("-f", "--find-links", dest="find_links", action="append")
    add("--no-binary", dest="no_binary", action="append")
    add("--only-binary", dest="only_binary", action="append")
    add("--prefer-binary", dest="prefer_binary", action="store_true")
    add("--require-hashes", dest="require_hashes", action="store_true")
    add("--pre", dest="pre", action="store_true")
    add("--trusted-host", dest="trusted_hosts", action="append")
    add("--use-feature", dest="features_enabled", action="append")
    add("--global-option", dest="global_options", action="append")
    add("--hash", dest="hashes", action="append")
    add("--config-settings", dest="config_settings", action="append")
    return p


_OPTION_PARSER = _build_option_parser()
_NEEDS_SHLEX = re.compile(r"[\"'\\]")
_OPTION_FLAGS = {o.dest: (o.get_opt_string()) for o in _OPTION_PARSER.option_list}


@dataclass(frozen=True)
class LineOptions:
    """The options found on one line (only those given), plus words pip would ignore."""

    values: Mapping[str, object] = field(default_factory=dict)
    leftover: Tuple[str, ...] = ()

    def get(self, dest: str, default=None):
        """The value of option ``dest`` (optparse dest name), or ``default``."""
        return self.values.get(dest, default)

    def given(self) -> Tuple[str, ...]:
        """The dests of every option present on the line."""
        return tuple(self.values)


def parse_options(text: str) -> LineOptions:
    """Parse the option part of a line; ``LineError`` for unknown options or bad quoting."""
    if not text:
        return LineOptions()
    if _NEEDS_SHLEX.search(text):
        try:
            words = shlex.split(text)
        except ValueError as exc:
            raise LineError(f"cannot split options ({exc}): {text}") from None
    else:
        words = text.split()  # what shlex.split gives for text without quotes or escapes, much faster
    if all(w.startswith("--hash=") for w in words):
        # the hot shape of pip-compile output: only hashes (optparse would give the same)
        return LineOptions({"hashes": [w[7:] for w in words]})
    # a fresh Values per line: appended options must not leak between lines (pip builds a
    # new parser per line for the same reason)
    values, leftover = _OPTION_PARSER.parse_args(words, optparse.Values())
    given = {k: v for k, v in vars(values).items() if v not in (None, False)}
    return LineOptions(given, tuple(leftover))


def parse_hash(value: str) -> str:
    """``sha256:abc...`` -> ``sha256:abc...`` (algorithm lower-cased); ``LineError`` otherwise."""
    algo, sep, digest = value.partition(":")
    if not sep or not digest:
        raise LineError(f"--hash needs a hash name and a value, like --hash=sha256:abcde..., not {value!r}")
    algo = algo.lower()
    if algo not in HASH_ALGORITHMS:
        raise LineError(f"--hash algorithm {algo!r} is not allowed (pip accepts {', '.join(HASH_ALGORITHMS)})")
    if not re.fullmatch(r"[0-9a-fA-F]+", digest):
        raise LineError(f"--hash value for {algo} is not hexadecimal: {digest!r}")
    return f"{algo}:{digest.lower()}"


# --------------------------------------------------------------------------- requirements


def url_scheme(text: str) -> Optional[str]:
    """The lower-cased ``scheme`` of ``scheme:...``, or ``None`` (a Windows drive is no scheme)."""
    match = SCHEME_RE.match(text)
    if not match or len(match.group(1)) == 1:
        return None
    return match.group(1).lower()


def is_url(text: str) -> bool:
    """True for a URL pip installs from: http(s)/file/ftp or a VCS scheme (``git+https``...)."""
    scheme = url_scheme(text)
    return scheme is not None and (scheme in PLAIN_URL_SCHEMES or scheme in VCS_SCHEMES)


def is_vcs_url(url: str) -> bool:
    """True for ``git+https://...``, ``hg+ssh://...``, ``svn://...``, ``bzr+lp:...``."""
    scheme = url_scheme(url)
    return scheme is not None and scheme in VCS_SCHEMES


def looks_like_path(text: str) -> bool:
    """pip's ``_looks_like_path``: has a path separator or starts with a dot."""
    return "/" in text or "\\" in text or text.startswith(".")


def is_archive_filename(text: str) -> bool:
    """True when ``text`` ends in a distribution archive extension (``.whl``, ``.tar.gz``...)."""
    return text.lower().endswith(ARCHIVE_EXTENSIONS)


def split_extras_suffix(text: str) -> Tuple[str, Tuple[str, ...]]:
    """``./pkg[a,b]`` -> (``./pkg``, (``a``, ``b``)): the ``path[extras]`` form pip accepts."""
    match = EXTRAS_SUFFIX_RE.match(text)
    if not match:
        return text, ()
    extras = tuple(sorted({e.strip().lower() for e in match.group(2)[1:-1].split(",") if e.strip()}))
    return match.group(1), extras


def egg_fragment(url: str) -> Tuple[Optional[str], Tuple[str, ...]]:
    """The project name (and extras) in ``#egg=name[extra]``; ``(None, ())`` when absent or empty.

    Old files put a version after the name (``#egg=pkg==1.2``, ``#egg=pkg-1.2``... pip < 24
    accepted ``#egg=pkg==1.2``); the project name is what matters for judging, so the leading
    name is taken and the rest ignored. A fragment that does not start with a name is an error.
    """
    match = EGG_RE.search(url)
    if not match or not match.group(1):
        return None, ()
    value = match.group(1)
    name_match = EGG_NAME_RE.match(value) or EGG_NAME_PREFIX_RE.match(value)
    if not name_match:
        raise LineError(f"#egg={value} is not a project name")
    extras = ()
    if name_match.group(2):
        extras = tuple(sorted({e.strip().lower() for e in name_match.group(2)[1:-1].split(",") if e.strip()}))
    return name_match.group(1), extras


def wheel_name_version(filename: str) -> Tuple[str, str]:
    """(name, version) from a wheel file name; ``LineError`` when it is not one."""
    parsed = _wheel_name_version(filename)
    if parsed is None:
        raise LineError(f"{base_name(filename)!r} is not a valid wheel file name")
    return parsed


def url_hashes(url: str) -> Tuple[str, ...]:
    """Hashes in a URL fragment (``#sha256=...``) as ``algo:hex``."""
    return tuple(f"{a.lower()}:{d.lower()}" for a, d in HASH_FRAGMENT_RE.findall(url))


def redact_url(url: str) -> str:
    """Hide credentials in a URL like pip's ``redact_auth_from_url``: ``user:****@``, or ``****@``
    for a bare token. Reports and logs must not carry secrets (often expanded from ``${VAR}``)."""
    scheme_sep = url.find("://")
    if scheme_sep < 0:
        return url
    start = scheme_sep + 3
    end = len(url)
    for stop in "/?#":
        pos = url.find(stop, start)
        if pos >= 0:
            end = min(end, pos)
    netloc = url[start:end]
    if "@" not in netloc:
        return url
    auth, host = netloc.rsplit("@", 1)
    if ":" in auth:
        user = auth.split(":", 1)[0]
        # "git@github.com" style (ssh user, no password) stays as written
        auth = f"{user}:****"
    elif url[:scheme_sep].lower() in ("http", "https") or url[:scheme_sep].lower().endswith(("+http", "+https")):
        auth = "****"  # a bare token over http(s) is a secret; an ssh user name is not
    return url[:start] + auth + "@" + host + url[end:]


_AUTH_IN_TEXT = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/@\s:]+)(:[^/@\s]*)?@")


def redact_text(text: str) -> str:
    """``redact_url`` for every URL inside free text (a line quoted in a finding)."""
    def sub(match: re.Match) -> str:
        scheme, user, password = match.groups()
        if password:
            return f"{scheme}{user}:****@"
        plain_http = scheme.lower().rstrip(":/").split("+")[-1] in ("http", "https")
        return f"{scheme}****@" if plain_http else match.group(0)

    return _AUTH_IN_TEXT.sub(sub, text)


@dataclass(frozen=True)
class ParsedRequirement:
    """What one requirement line says, before file context (location, indexes) is added."""

    name: Optional[str]
    specifier: str = ""
    version: Optional[str] = None
    extras: Tuple[str, ...] = ()
    marker: Optional[str] = None
    url: Optional[str] = None
    editable: bool = False
    #: the name was read off an sdist file name, not declared (pip would call it unnamed)
    name_guessed: bool = False


def _parse_marker(text: str) -> Optional[str]:
    """A normalised PEP 508 marker, ``None`` for empty text; ``LineError`` when invalid."""
    from packaging.markers import InvalidMarker

    from ..pep508 import parse_marker

    text = text.strip()
    if not text:
        return None
    try:
        return str(parse_marker(text))
    except InvalidMarker as exc:
        raise LineError(f"invalid environment marker {text!r}: {exc}") from None


def _parse_pep508(text: str) -> ParsedRequirement:
    """``name[extras] spec ; marker`` / ``name @ url`` via ``packaging``; ``LineError`` with a hint."""
    from packaging.requirements import InvalidRequirement

    from ..pep508 import parse_requirement as _requirement

    try:
        req = _requirement(text)
    except InvalidRequirement as exc:
        hint = ""
        if re.fullmatch(r"[A-Za-z0-9._\[\], -]+\s*=\s*[^=<>!~\s]+", text):
            hint = " (= is not a valid operator; did you mean ==?)"
        raise LineError(f"not a valid requirement: {text!r}{hint}: {str(exc).splitlines()[0]}") from None
    return ParsedRequirement(
        name=req.name, specifier=str(req.specifier), version=pinned_version(req.specifier),
        extras=tuple(sorted(e.lower() for e in req.extras)), marker=str(req.marker) if req.marker else None,
        url=req.url)


def _from_link(url: str, extras: Tuple[str, ...], marker: Optional[str], editable: bool = False) -> ParsedRequirement:
    """A URL or path requirement: name from a wheel file name or ``#egg=``, else unnamed."""
    path_part = url.split("#", 1)[0].split("?", 1)[0]
    if path_part.lower().endswith(".whl") and not is_vcs_url(url):
        name, version = wheel_name_version(path_part)
        return ParsedRequirement(name=name, specifier=f"=={version}", version=version, extras=extras,
                                 marker=marker, url=url, editable=editable)
    name, egg_extras = egg_fragment(url)
    guessed = False
    if name is None and not is_vcs_url(url):
        name, _ = sdist_name_version(path_part)
        guessed = name is not None
    return ParsedRequirement(name=name, extras=tuple(sorted(set(extras) | set(egg_extras))), marker=marker,
                             url=url, editable=editable, name_guessed=guessed)


_SIMPLE_PIN = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[A-Za-z0-9._,\s-]*\])?\s*==\s*([0-9][0-9A-Za-z.+!]*)$")


def _is_version(text: str) -> bool:
    """True for a valid PEP 440 version (the fast path must not accept what packaging rejects)."""
    from packaging.version import InvalidVersion, Version

    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def parse_requirement(text: str) -> ParsedRequirement:
    """One requirement as pip's ``parse_req_from_line`` reads it (no file system look-ups).

    ``name[extras] specifier ; marker``, ``name @ url``, a bare URL (``https://...whl``,
    ``git+https://...#egg=name``; markers after ``"; "``), or a local path / archive file
    (``./pkg[extra]``, ``dist/pkg-1.0.tar.gz``).
    """
    text = text.strip()
    simple = _SIMPLE_PIN.match(text)
    if simple and _is_version(simple.group(3)):
        # the hot shape (``name==1.2.3``, optional extras) without the full PEP 508 parser
        name, extras, version = simple.groups()
        extras_t = tuple(sorted({e.strip().lower() for e in extras[1:-1].split(",") if e.strip()})) if extras else ()
        return ParsedRequirement(name=name, specifier=f"=={version}", version=version, extras=extras_t)
    scheme = url_scheme(text)
    url_like = is_url(text)
    sep = "; " if url_like else ";"
    marker = None
    if sep in text:
        text, marker_text = text.split(sep, 1)
        marker = _parse_marker(marker_text)
        text = text.strip()
    if url_like:
        return _from_link(text, (), marker)
    if scheme is not None and "://" in text and " " not in text and "@" not in text.split("://", 1)[0]:
        raise LineError(f"unsupported URL scheme {scheme!r} in {text!r}")
    path, extras = split_extras_suffix(text)
    if looks_like_path(path) or is_archive_filename(path):
        # ``name @ ./path`` has a space or '@' before any slash: that is a PEP 508 direct reference
        before_at = text.split("@", 1)[0]
        if "@" not in text or looks_like_path(before_at):
            return _from_link(path, extras, marker)
    parsed = _parse_pep508(text)
    if parsed.url is not None and not is_url(parsed.url):
        # packaging >= 22 no longer checks; pip (and PEP 440 direct references) need a real URL
        raise LineError(f"{parsed.name} @ {parsed.url}: a direct reference must be a URL "
                        f"(https://..., git+https://..., file:///...)")
    if marker:
        parsed = replace(parsed, marker=marker if not parsed.marker else f"({parsed.marker}) and ({marker})")
    for spec in parsed.specifier.split(","):
        if spec.endswith("]"):
            raise LineError(f"extras after the version in {text!r}")
    return parsed


def parse_editable(text: str) -> ParsedRequirement:
    """``-e`` target as pip's ``parse_editable``: a local project path or a VCS URL with ``#egg=``."""
    text = text.strip()
    path, extras = split_extras_suffix(text)
    scheme = url_scheme(path)
    if scheme is None and re.match(r"^(git|hg|svn|bzr)\+", path):
        raise LineError(f"{text!r} is not a valid editable requirement: an scp-style VCS address "
                        f"needs a URL (git+ssh://git@host/org/repo.git#egg=name)")
    if scheme == "file" or scheme is None:
        name, egg_extras = egg_fragment(path) if scheme == "file" else (None, ())
        return ParsedRequirement(name=name, extras=tuple(sorted(set(extras) | set(egg_extras))), url=path, editable=True)
    url = text
    if scheme in VCS_NAMES:
        url = f"{scheme}+{text}"  # pip turns ``git://`` into ``git+git://`` for editables
    if not is_vcs_url(url):
        raise LineError(f"{text!r} is not a valid editable requirement: it must be a local project path "
                        f"or a VCS URL (git+, hg+, svn+, bzr+)")
    parsed = _from_link(url, (), None, editable=True)
    if parsed.name is None:
        raise LineError(f"cannot tell the project name of editable {text!r}: add #egg=<name>")
    return parsed


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class ReadOptions:
    """How to read requirements files: ``env`` expands ``${VAR}`` (defaults to ``os.environ``)."""

    env: Optional[Mapping[str, str]] = None


@dataclass
class _IndexState:
    """pip's finder options as the files set them, in order (global to the whole install)."""

    index_urls: Optional[list] = None  # None: pip's default index
    extra_urls: list = field(default_factory=list)
    find_links: list = field(default_factory=list)
    no_index: bool = False

    def apply(self, ref: IndexRef) -> None:
        """Fold one index option in, as ``handle_option_line`` does."""
        if ref.kind == "no-index":
            self.no_index, self.index_urls, self.extra_urls = True, [], []
        elif self.no_index and ref.kind in ("index-url", "extra-index-url"):
            return
        elif ref.kind == "index-url":
            self.index_urls, self.extra_urls = [ref], []  # pip replaces the whole list, extras included
        elif ref.kind == "extra-index-url":
            self.extra_urls.append(ref)
        elif ref.kind == "find-links":
            self.find_links.append(ref)

    def effective(self) -> Tuple[IndexRef, ...]:
        """Every source pip would consult; the implicit default index has no location."""
        base = [] if self.no_index else (self.index_urls if self.index_urls is not None else [IndexRef(DEFAULT_INDEX, "index-url", None)])
        return tuple(base) + tuple(self.extra_urls) + tuple(self.find_links)


def _finding(message: str, subject: str, location: Location, suggestion: Optional[str] = None) -> Finding:
    """An ``invalid`` finding with credentials redacted."""
    # the quoted line may hold credentials expanded from ${VAR}: never put them in a report
    return Finding(rule="invalid", subject=redact_text(subject), message=redact_text(message), location=location,
                   suggestion=suggestion or DEFAULT_INVALID_HINT)


class _TreeReader:
    """Reads one requirements file and its includes into an ordered list of items."""

    def __init__(self, env: Mapping[str, str]):
        """An empty reader; ``env`` expands ``${VAR}`` references as pip does."""
        self.env = env
        self.items: list = []
        self.state = _IndexState()
        self.stack: list[str] = []
        self.done: set = set()
        self.seen_indexes: set = set()

    def read_file(self, filename: str, constraint: bool, included_at: Optional[Location]) -> None:
        """Read ``filename``; problems with an included file become findings at the include line."""
        try:
            key = os.path.realpath(filename)
        except ValueError as exc:  # e.g. a NUL byte in the path
            if included_at is None:
                raise SourceError(f"not a usable path: {exc}", file=repr(filename)) from None
            self.items.append(_finding(f"included path {filename!r} is not usable: {exc}", filename, included_at))
            return
        if key in self.stack:
            chain = " -> ".join([*self.stack[self.stack.index(key):], key])
            self.items.append(_finding(f"include cycle: {chain}", filename, included_at,
                                       "remove the -r/-c line that points back to an including file"))
            return
        if (key, constraint) in self.done:
            return  # a diamond include: pip reads it again to the same effect
        if len(self.stack) >= MAX_INCLUDE_DEPTH:
            self.items.append(_finding(f"includes nested deeper than {MAX_INCLUDE_DEPTH} files: {filename} not read",
                                       filename, included_at))
            return
        try:
            data = read_bytes_limited(filename)
        except (OSError, ValueError) as exc:
            if included_at is None:
                raise SourceError(f"cannot read: {exc.strerror or exc}", file=filename) from None
            self.items.append(_finding(f"cannot read included file {filename}: {exc.strerror or exc}", filename,
                                       included_at, "fix the path (it is relative to the including file)"))
            return
        text, problem = decode_requirements(data)
        if problem:
            # the first replaced byte is where the problem is (None for an unknown coding cookie)
            bad = next((n for n, text_line in enumerate(text.splitlines(), 1) if "\ufffd" in text_line), None)
            self.items.append(_finding(f"{problem}; undecodable bytes were replaced", filename, Location(filename, bad)))
        nul = text.find("\x00")
        if nul >= 0:  # pip cannot read it either; parsing binary data would only flood the report
            self.items.append(_finding("binary data (a NUL byte): not a requirements file, not read", filename,
                                       Location(filename, text.count("\n", 0, nul) + 1),
                                       "check the right file; a requirements file is text"))
            self.done.add((key, constraint))
            return
        self.stack.append(key)
        bad = 0
        try:
            for number, line in logical_lines(text, self.env):
                before = len(self.items)
                self.read_line(filename, number, line, constraint)
                bad += sum(1 for item in self.items[before:] if isinstance(item, Finding) and item.rule == "invalid")
                if bad >= MAX_INVALID_PER_FILE:
                    self.items.append(_finding(f"{bad} unreadable lines: this is not a requirements file; "
                                               f"the rest of it (after line {number}) was not read", filename,
                                               Location(filename, number), "check the right file"))
                    break
        finally:
            self.stack.pop()
            self.done.add((key, constraint))

    def read_line(self, filename: str, number: int, line: str, constraint: bool) -> None:
        """One logical line: a requirement, an include, or options."""
        loc = Location(filename, number)
        try:
            args, opt_text = break_args_options(line)
            opts = parse_options(opt_text)
        except LineError as exc:
            self.items.append(_finding(f"{exc}", line, loc))
            return
        if opts.leftover:
            self.items.append(_finding(f"pip ignores {' '.join(opts.leftover)!r} after the options", line, loc,
                                       "put each requirement on its own line"))
        if args or opts.get("editables"):
            self.read_requirement(args, opts, loc, constraint, line)
        elif opts.get("requirements") or opts.get("constraints"):
            self.read_include(filename, opts, loc, line)
        else:
            self.read_option_line(opts, loc, line)

    def _ignored(self, opts: LineOptions, used: Tuple[str, ...], loc: Location, line: str, why: str) -> None:
        """Report options on this line that pip would ignore (anything outside ``used``)."""
        ignored = [_OPTION_FLAGS[d] for d in opts.given() if d not in used]
        if ignored:
            self.items.append(_finding(f"pip ignores {', '.join(ignored)} {why}", line, loc,
                                       "put file-wide options on a line of their own"))

    def read_requirement(self, args: str, opts: LineOptions, loc: Location, constraint: bool, line: str) -> None:
        """A requirement line (``-e`` or text), with its per-requirement options."""
        try:
            if args:
                self._ignored(opts, REQUIREMENT_OPTIONS, loc, line, "on a requirement line")
                parsed = parse_requirement(args)
                hashes = tuple(parse_hash(h) for h in opts.get("hashes", ()))
            else:
                editables = opts.get("editables")
                self._ignored(opts, ("editables",), loc, line, "on an editable (-e) line")
                if len(editables) > 1:
                    self.items.append(_finding("pip reads only the first -e of a line", line, loc))
                parsed = parse_editable(editables[0])
                hashes = ()
        except LineError as exc:
            self.items.append(_finding(str(exc), args or line, loc))
            return
        if constraint and parsed.editable:
            self.items.append(_finding("editable requirements are not allowed as constraints", args or line, loc))
            return
        if constraint and (parsed.name is None or parsed.name_guessed):
            self.items.append(_finding("unnamed requirements are not allowed as constraints", args or line, loc))
            return
        hashes = tuple(dict.fromkeys(hashes + url_hashes(parsed.url or "")))
        self.items.append(PackageRef(
            name=parsed.name, specifier=parsed.specifier, version=parsed.version, extras=parsed.extras,
            marker=parsed.marker, url=redact_url(parsed.url) if parsed.url else None, editable=parsed.editable, hashes=hashes,
            constraint=constraint, location=loc))

    def read_include(self, filename: str, opts: LineOptions, loc: Location, line: str) -> None:
        """``-r``/``-c``: read the named file (relative to this one)."""
        self._ignored(opts, INCLUDE_OPTIONS, loc, line, "on an include (-r/-c) line")
        if opts.get("requirements"):
            target, nested_constraint = opts.get("requirements")[0], False
        else:
            target, nested_constraint = opts.get("constraints")[0], True
        scheme = url_scheme(target)
        if scheme == "file":
            import urllib.request  # only here: it pulls in http.client and email (slow to import)

            target = urllib.request.url2pathname(urllib.parse.urlsplit(target).path)
        elif scheme in ("http", "https"):
            self.items.append(_finding(f"remote include {target} is not fetched (guard check works offline)",
                                       target, loc, "download it and check it as its own target"))
            return
        else:
            target = os.path.join(os.path.dirname(filename), target)
        self.read_file(target, nested_constraint, loc)

    def read_option_line(self, opts: LineOptions, loc: Location, line: str) -> None:
        """File-wide options: index, extra index, find-links, trusted host, and the rest."""
        if opts.get("hashes"):
            self.items.append(_finding("--hash without a requirement on its line is ignored by pip "
                                       "(a broken line continuation?)", line, loc,
                                       "end the requirement's previous line with a backslash"))
        refs = []
        if opts.get("no_index"):
            refs.append(IndexRef("", "no-index", loc))
        if opts.get("index_url"):
            refs.append(IndexRef(redact_url(opts.get("index_url")), "index-url", loc))
        refs += [IndexRef(redact_url(u), "extra-index-url", loc) for u in opts.get("extra_index_urls", ())]
        refs += [IndexRef(redact_url(u), "find-links", loc) for u in opts.get("find_links", ())]
        for ref in refs:
            self.state.apply(ref)
            if ref.kind != "no-index":
                self._add_index(ref)
        for host in opts.get("trusted_hosts", ()):
            self._add_index(IndexRef(host, "trusted-host", loc))

    def _add_index(self, ref: IndexRef) -> None:
        """Keep ``ref`` once (a diamond include must not report the same option twice)."""
        if (ref.url, ref.kind, ref.location) not in self.seen_indexes:
            self.seen_indexes.add((ref.url, ref.kind, ref.location))
            self.items.append(ref)


def read_requirements(path: str, options: ReadOptions = ReadOptions()) -> list:
    """Every item of a requirements file tree, in order: ``IndexRef``, ``PackageRef``, ``Finding``.

    Each ``PackageRef`` carries the sources in effect for the whole install (pip's index
    options are global), including the implicit default index unless ``--index-url`` or
    ``--no-index`` replaced it. Raises ``SourceError`` only when ``path`` itself is unreadable.
    """
    reader = _TreeReader(os.environ if options.env is None else options.env)
    reader.read_file(str(path), False, None)
    indexes = reader.state.effective()
    extra = {"no_index": True} if reader.state.no_index else {}
    return [replace(item, indexes=indexes, extra=extra) if isinstance(item, PackageRef) else item
            for item in reader.items]


class RequirementsSource(Source):
    """A pip requirements file and everything it includes."""

    def __init__(self, path, options: ReadOptions = ReadOptions()):
        """The requirements (or constraints) file at ``path``, read with ``options``."""
        self.path = str(path)
        self.name = self.path
        self.options = options

    def collect(self) -> Iterator:
        """Yield index refs, package refs and ``invalid`` findings, in file order."""
        yield from read_requirements(self.path, self.options)
