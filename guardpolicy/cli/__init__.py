"""The ``guard`` command line.

Each subcommand lives in its own module with ``add_parser(subparsers)`` and ``run(args) -> int``.
Modules import only argparse at parse time and pull in what they need inside ``run``, so
``guard`` starts fast. Exit codes: 0 nothing denied, 1 something denied, 2 usage or policy error.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: subcommand -> module; add a line here to add a command
COMMANDS = {
    "check": "guardpolicy.cli.check",
    "lock": "guardpolicy.cli.lock",
    "verify": "guardpolicy.cli.verify",
    "policy": "guardpolicy.cli.policy",
    "hook": "guardpolicy.cli.hook",
    "install": "guardpolicy.cli.install",
    "cache": "guardpolicy.cli.cache",
    "log": "guardpolicy.cli.log",
    "scan": "guardpolicy.cli.scan",
}

EXIT_OK, EXIT_DENIED, EXIT_ERROR = 0, 1, 2


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, sized the way ``shutil.get_terminal_size`` would, without importing shutil.

    argparse builds a formatter for every ``add_argument`` (to check metavars); each one importing
    shutil (and with it bz2 and lzma) was ~2 ms of every ``guard`` start.
    """

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        if width is None:
            import os  # already loaded by site: a dict lookup

            try:
                width = int(os.environ["COLUMNS"])
            except (KeyError, ValueError):
                try:
                    width = os.get_terminal_size(sys.__stdout__.fileno()).columns
                except (AttributeError, ValueError, OSError):
                    width = 80
            width -= 2
        super().__init__(prog, indent_increment, max_help_position, width)


class _Parser(argparse.ArgumentParser):
    """``ArgumentParser`` whose help uses ``_Formatter`` (subcommand parsers too)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every subcommand (or just ``only``: start-up imports one command module)."""
    parser = _Parser(prog="guard", description="Supply-chain policy checks for Python packages and ML artifacts.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, module in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(module).add_parser(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``guard`` console script."""
    from ..errors import GuardError

    words = sys.argv[1:] if argv is None else list(argv)
    first = next((w for w in words if not w.startswith("-")), None)
    # the command is known from the first word: only its module is imported to build the parser
    parser = build_parser(first if first in COMMANDS and "-h" not in words[:words.index(first)] else None)
    args = parser.parse_args(argv)
    if args.version:
        from .. import __version__

        print(f"guard {__version__}")
        return EXIT_OK
    if not args.command:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        return importlib.import_module(COMMANDS[args.command]).run(args)
    except GuardError as exc:
        print(f"guard: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the contract is one line, never a traceback
        import os

        if os.environ.get("GUARD_DEBUG"):
            raise
        from ..sources.interface import SourceError

        if isinstance(exc, SourceError):  # an input that cannot be read at all: a usage error
            print(f"guard: error: {exc}", file=sys.stderr)
        else:
            print(f"guard: internal error: {type(exc).__name__}: {exc} (nothing was allowed; "
                  "GUARD_DEBUG=1 shows the traceback; please report it)", file=sys.stderr)
        return EXIT_ERROR


def add_policy_args(parser: argparse.ArgumentParser) -> None:
    """``--policy`` and ``--mode``, shared by every command that evaluates a policy."""
    parser.add_argument("--policy", metavar="NAME|PATH", help="a shipped policy name (default, strict, ...) or a policy file; "
                        "default: GUARD_POLICY, guard.toml / [tool.guard] upward, user config, 'default'")
    parser.add_argument("--mode", choices=("enforce", "warn", "off"), help="override the policy mode for this run")


def load_policy_from_args(args):
    """Load the policy named by ``--policy`` (or discovered) with ``--mode`` applied."""
    import os

    from ..policy import load_policy

    env = dict(os.environ)
    if getattr(args, "mode", None):
        env["GUARD_MODE"] = args.mode
    policy = load_policy(args.policy, env=env)
    if getattr(args, "mode", None) and policy.mode != args.mode:
        # the policy forbids relaxing the mode: say so rather than silently enforcing
        print(f"guard: note: --mode {args.mode} ignored: {policy.mode_source.split('ignored: ', 1)[-1]}", file=sys.stderr)
    return policy


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
