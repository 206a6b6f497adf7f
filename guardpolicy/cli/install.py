"""``guard install -- pip install ARGS`` / ``guard install -- uv pip install ARGS``: resolve, check, then install.

For installers that run no Python of the environment (uv) or environments without the hook.
The installer resolves first without installing (``pip install --dry-run --report -`` or
``uv pip compile``); guard checks the whole resolved set (transitive dependencies included)
plus the requirements as written and the indexes in use; only when nothing is denied does it
run the real install, constrained (``-c``) to exactly the versions it checked so the second
resolution cannot drift.
"""

from __future__ import annotations

import argparse
import sys

#: pip options that take a value (so the value is not mistaken for a requirement)
_VALUE_OPTS = {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url", "--extra-index-url",
               "-f", "--find-links", "--trusted-host", "-t", "--target", "--prefix", "--root", "--platform",
               "--python-version", "--implementation", "--abi", "--src", "--upgrade-strategy", "--report",
               "--progress-bar", "--log", "--cache-dir", "--timeout", "--retries", "--proxy", "--cert", "--client-cert",
               "--global-option", "--config-settings", "-C", "--use-feature", "--use-deprecated", "--only-binary",
               "--no-binary", "--python", "-p", "--exists-action", "--keyring-provider", "--root-user-action",
               "--group", "--index-strategy", "--resolution", "--prerelease", "--exclude-newer", "--index",
               "--default-index", "-o", "--output-file", "--uploaded-prior-to"}


def add_parser(sub) -> None:
    """Register ``install``."""
    from . import add_policy_args

    p = sub.add_parser("install", help="resolve with pip/uv, check the full resolved set, then install if it passes",
                       description="guard install [--policy P] -- pip install ARGS | uv pip install ARGS | python -m pip install ARGS. "
                                   "Exit 1 when the policy denies (nothing installed), 2 on errors, else the installer's exit code.")
    add_policy_args(p)
    p.add_argument("--offline", action="store_true", help="no look-ups of upload times on the index JSON API")
    p.add_argument("installer_command", nargs=argparse.REMAINDER, metavar="-- INSTALLER ARGS",
                   help="the install command to guard, after --")


# ------------------------------------------------------------------ pure helpers


def split_command(argv: list) -> tuple:
    """``(kind, prefix, args)``: kind ``pip`` or ``uv``; ``prefix`` runs the tool up to ``install``.

    Accepts ``pip install``, ``pip3 install``, ``python -m pip install``, ``PATH/pip install``,
    ``uv pip install``. ``UsageError`` for anything else.
    """
    import os

    from ..errors import UsageError

    argv = list(argv)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        raise UsageError("nothing to run: use `guard install -- pip install ARGS` or `guard install -- uv pip install ARGS`")
    tool = os.path.basename(argv[0])
    if tool.startswith("uv") and argv[1:3] == ["pip", "install"]:
        return "uv", argv[:1], argv[3:]
    if tool.startswith("python") and argv[1:4] == ["-m", "pip", "install"]:
        return "pip", argv[:3], argv[4:]
    if tool.startswith("pip") and argv[1:2] == ["install"]:
        return "pip", argv[:1], argv[2:]
    raise UsageError(f"unsupported installer command {' '.join(argv[:4])!r}: use pip install, python -m pip install or uv pip install")


def scan_args(args: list) -> dict:
    """Requirements, requirement files, constraint files and index options named in installer ``args``."""
    out = {"requirements": [], "files": [], "constraints": [], "indexes": [], "editables": [], "no_index": False}
    i = 0
    while i < len(args):
        a = args[i]
        key, value = a, None
        if a.startswith("--") and "=" in a:
            key, value = a.split("=", 1)
        elif a in _VALUE_OPTS and i + 1 < len(args):
            value = args[i + 1]
            i += 1
        elif len(a) > 2 and a[:2] in ("-r", "-c", "-i", "-f", "-e") and not a.startswith("--"):
            key, value = a[:2], a[2:]
        if key in ("-r", "--requirement"):
            out["files"].append(value)
        elif key in ("-c", "--constraint"):
            out["constraints"].append(value)
        elif key in ("-i", "--index-url", "--default-index"):
            out["indexes"].append((value, "index-url"))
        elif key in ("--extra-index-url", "--index"):
            out["indexes"].append((value, "extra-index-url"))
        elif key in ("-f", "--find-links"):
            out["indexes"].append((value, "find-links"))
        elif key == "--trusted-host":
            out["indexes"].append((value, "trusted-host"))
        elif key in ("-e", "--editable"):
            out["editables"].append(value)
        elif key == "--no-index":
            out["no_index"] = True
        elif not a.startswith("-") and value is None:
            out["requirements"].append(a)
        i += 1
    return out


def requirement_subjects(scanned: dict, indexes: tuple) -> list:
    """``PackageRef`` for each requirement written on the command line (to check pins as written)."""
    from packaging.requirements import InvalidRequirement

    from ..model import Finding, Location, PackageRef
    from ..pep508 import parse_requirement

    out = []
    for text in scanned["requirements"]:
        if "/" in text or text.endswith((".whl", ".tar.gz", ".zip")):
            out.append(PackageRef(name=None, url=text, indexes=indexes, location=Location("<command line>")))
            continue
        try:
            req = parse_requirement(text)
        except InvalidRequirement as exc:
            out.append(Finding(rule="invalid", subject=text, message=f"not a valid requirement: {exc}",
                               location=Location("<command line>")))
            continue
        out.append(PackageRef(name=req.name, specifier=str(req.specifier), extras=tuple(sorted(req.extras)),
                              marker=str(req.marker) if req.marker else None, url=req.url, indexes=indexes,
                              location=Location("<command line>"), extra={"root": True}))
    return out


def subjects_from_pip_report(report: dict, indexes: tuple) -> list:
    """Every package in pip's installation report (transitive ones too), read by ``PipReportSource``.

    Returns ``PackageRef`` objects and the source's ``invalid`` findings (an entry without a name).
    Packages carry the command line's ``indexes`` (the sources in effect for this install, which
    the ``source`` and ``release-age`` rules read) instead of the report's download hosts, and no
    location: the report is pip's stdout, not a file to point at. A report without an
    ``install`` list has nothing to check; ``run`` refuses one before it gets here.
    """
    import dataclasses

    from ..model import Finding, PackageRef
    from ..sources.pip_report import PipReportSource

    if not isinstance(report, dict) or "install" not in report:
        return []
    out = []
    for item in PipReportSource("<pip report>").read(report):
        if isinstance(item, PackageRef):
            out.append(dataclasses.replace(item, indexes=indexes, location=None,
                                           extra={"installer": "pip-report", **item.extra}))
        elif isinstance(item, Finding):
            out.append(item)
        # IndexRef items are the report's download hosts: the command line's indexes are judged instead
    return out


def parse_compiled(text: str, indexes: tuple) -> list:
    """``PackageRef`` per ``name==version`` line of ``uv pip compile`` output (hashes and ``# from`` index kept)."""
    from packaging.requirements import InvalidRequirement

    from ..model import IndexRef, PackageRef
    from ..pep508 import parse_requirement

    logical, buf = [], ""
    for raw in text.splitlines():  # join backslash continuations (hash lines)
        if raw.rstrip().endswith("\\"):
            buf += raw.rstrip()[:-1] + " "
            continue
        logical.append(buf + raw)
        buf = ""
    if buf:
        logical.append(buf)
    from ..names import canonicalize_name

    out = []
    in_via = False
    for raw in logical:
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            note = line[1:].strip()
            if out and note.startswith("from "):
                out[-1] = _with(out[-1], indexes=(*out[-1].indexes, IndexRef(note[5:].strip(), "index-url")))
            # "# via parent" or "# via" then "#   parent" lines: uv's resolver naming who requires the
            # package (guard ran uv itself, so this is the resolver's word, evidence for typosquat)
            parents = None
            if note == "via" or note.startswith("via "):
                in_via, parents = True, note[3:].split()
            elif in_via and raw.lstrip().startswith("#   "):
                parents = note.split()
            else:
                in_via = False
            if parents and parents[0].startswith(("-", "(")):
                parents = None  # "-r requirements.in", "-c constraints.txt", "(pyproject.toml)": the user's own files
            names = [canonicalize_name(p) for p in parents or () if "/" not in p and "." not in p]
            if out and names:
                got = tuple(out[-1].extra.get("required_by", ()))
                out[-1] = _with(out[-1], extra={**out[-1].extra, "required_by": tuple(dict.fromkeys(got + tuple(names)))})
            continue
        in_via = False
        if line.startswith("-"):
            continue
        words = line.split()
        hashes = tuple(w.split("=", 1)[1] for w in words if w.startswith("--hash="))
        body = " ".join(w for w in words if not w.startswith("--hash="))
        try:
            req = parse_requirement(body)
        except InvalidRequirement:
            continue
        pins = [s.version for s in req.specifier if s.operator in ("==", "===")]
        out.append(PackageRef(name=req.name, specifier=str(req.specifier), version=pins[0] if pins else None, url=req.url,
                              hashes=hashes, indexes=indexes, extra={"installer": "uv"}))
    return out


def _with(pkg, **changes):
    """A copy of the frozen ``pkg`` with ``changes``."""
    import dataclasses

    return dataclasses.replace(pkg, **changes)


# ------------------------------------------------------------------ run


#: runs pip with guard's startup hook active (when the interpreter can import guardpolicy): pip
#: builds sdists to learn their dependencies while it resolves, and the hook judges each one by
#: name before its build code runs (``runtime/pip.py``)
_HOOKED_PIP = ("import sys\ntry:\n    import guardpolicy._startup as s\n    s.install()\nexcept ImportError:\n    pass\n"
               "import runpy\nsys.argv[0] = 'pip'\nrunpy.run_module('pip', run_name='__main__', alter_sys=True)\n")


def hooked_pip(prefix: list) -> list:
    """The command that runs ``prefix``'s pip with the startup hook: ``python -c ...`` for ``python -m pip``
    and for a ``pip`` script with a ``python`` beside it; ``prefix`` unchanged otherwise."""
    import os
    import shutil

    if len(prefix) == 3 and prefix[1:] == ["-m", "pip"]:
        return [prefix[0], "-c", _HOOKED_PIP]
    if len(prefix) == 1:
        script = shutil.which(prefix[0])
        python = os.path.join(os.path.dirname(script), "python") if script else None
        if python and os.access(python, os.X_OK):
            return [python, "-c", _HOOKED_PIP]
    return list(prefix)


def resolve(kind: str, prefix: list, args: list, env: dict) -> tuple:
    """Run the installer's resolve-only step; ``(raw output, returncode, stderr)``."""
    import os
    import subprocess
    import tempfile

    if kind == "pip":
        cmd = [*hooked_pip(prefix), "install", "--dry-run", "--ignore-installed", "--quiet", "--report", "-", *args]
    else:
        scanned = scan_args(args)
        fd, tmp = tempfile.mkstemp(suffix=".in", prefix="guard-")
        with os.fdopen(fd, "w") as fh:
            fh.write("\n".join(scanned["requirements"]) + "\n")
        passthrough, skip = [], False
        for a in args:
            if skip:
                skip = False
            elif a in ("-r", "--requirement"):
                skip = True
            elif a.startswith("--requirement=") or (a.startswith("-r") and len(a) > 2) or a in scanned["requirements"]:
                continue
            else:
                passthrough.append(a)
        cmd = [*prefix, "pip", "compile", "--quiet", "--no-header", "--generate-hashes", "--emit-index-annotation",
               tmp, *scanned["files"], *passthrough]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    except OSError as exc:
        from ..errors import UsageError

        raise UsageError(f"cannot run {cmd[0]}: {exc}") from None
    finally:
        if kind == "uv":
            os.unlink(tmp)
    return proc.stdout, proc.returncode, proc.stderr


def run(args: argparse.Namespace) -> int:
    """Resolve, check, print findings, install when allowed."""
    import json
    import os
    import subprocess
    import tempfile

    from ..engine import CheckOptions, Engine
    from ..errors import UsageError
    from ..model import IndexRef, PackageRef
    from . import EXIT_DENIED, load_policy_from_args

    kind, prefix, inst_args = split_command(args.installer_command)
    policy = load_policy_from_args(args)
    scanned = scan_args(inst_args)
    indexes = tuple(IndexRef(url, k) for url, k in scanned["indexes"])
    env = dict(os.environ)
    # the resolve step runs with guard's hook on (hooked_pip): pip builds sdists to resolve, and the
    # hook judges each one before its build code runs. It judges under the same policy.
    if getattr(args, "policy", None):
        env["GUARD_POLICY"] = str(args.policy)
    env["GUARDPOLICY_ONLY_BUILDS"] = "1"  # wheels are judged below, with the whole resolved set
    out, code, err = resolve(kind, prefix, inst_args, env)
    if code != 0:
        sys.stderr.write(err)
        if "blocked by policy" in err:
            print("guard: refused while resolving (before any build ran); nothing installed", file=sys.stderr)
            return EXIT_DENIED
        print(f"guard: {prefix[-1]} could not resolve the requirements (exit {code}); nothing installed", file=sys.stderr)
        return code if code not in (0, 1) else 2
    items = [*indexes]
    if kind == "pip":
        try:
            report = json.loads(out)
        except ValueError:
            report = None
        if not isinstance(report, dict) or not isinstance(report.get("install"), list):
            raise UsageError("pip printed no installation report (is this pip >= 22.2?)")
        found = subjects_from_pip_report(report, indexes)
    else:
        found = parse_compiled(out, indexes)
    resolved = [p for p in found if isinstance(p, PackageRef)]
    items.extend(requirement_subjects(scanned, indexes))
    for path in scanned["files"]:
        from ..sources.requirements import RequirementsSource

        items.extend(RequirementsSource(path).collect())
    items.extend(found)
    decision = Engine(policy, CheckOptions(offline=args.offline, origin="guard-install")).decide(items)
    from dataclasses import replace

    from ..audit import notify_decision

    # the audit trail: the installer runs with the hook switched off, so this is the only record
    decision = replace(decision, origin="cli", operation="guard install -- " + " ".join(args.installer_command).lstrip("- "))
    notify_decision(decision, policy)
    from ..plugins import formats

    fmt = formats()["text"](color=sys.stdout.isatty(), policy=policy, targets=[" ".join(args.installer_command)])
    text = fmt.format(decision)
    if decision.denied:
        sys.stdout.write(text)
        print(f"guard: install refused by policy; nothing installed ({len(resolved)} resolved packages checked)",
              file=sys.stderr)
        return EXIT_DENIED
    if decision.findings:
        sys.stdout.write(text)
    pins = [f"{p.name}=={p.version}" for p in resolved if p.name and p.version and not p.url]
    fd, constraints = tempfile.mkstemp(suffix=".txt", prefix="guard-checked-")
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(pins) + "\n")
    try:
        cmd = [*prefix, *(["pip"] if kind == "uv" else []), "install", *inst_args, "-c", constraints]
        print(f"guard: {len(resolved)} resolved packages passed the policy; running {' '.join(prefix + ['install'])} ...",
              file=sys.stderr)
        return subprocess.run(cmd).returncode
    finally:
        os.unlink(constraints)
