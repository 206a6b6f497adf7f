"""The hooks every guardpolicy rule, source and format implements.

guardpolicy is a pluggy host. Built-in rules are ordinary plugins registered exactly the
way third-party ones are: through the ``guardpolicy`` entry-point group (see
``guardpolicy.plugins``). A plugin is any object or module with functions marked
``@hookimpl`` whose names match the specs below.

One hook per kind of subject: a rule implements only the ``guard_check_*`` hooks for the
subjects it judges, and returns a list of ``Finding`` (empty when all is well). The
engine applies the policy's actions, waivers and mode afterwards, so a rule never needs
to look at ``mode`` or waivers itself.
"""

from __future__ import annotations

import pluggy

PROJECT = "guardpolicy"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def guard_rules():
    """Describe the rules this plugin provides.

    Return a list of ``guardpolicy.rules.RuleInfo``: stable id, one-line summary,
    longer help (used by ``guard policy explain`` and SARIF), default action, the
    options a policy may set under ``[rules.<id>]`` with their types and defaults, and
    an example finding. The policy loader rejects options no rule declared.
    """


@hookspec
def guard_check_package(package, policy, context):
    """Judge one Python package requirement or resolved package.

    :param package: a ``guardpolicy.model.PackageRef``.
    :param policy: the effective ``guardpolicy.policy.Policy``.
    :param context: a ``guardpolicy.engine.CheckContext`` (shared caches, offline flag,
        and the whole set of subjects being checked, for rules that look across them).
    :return: a list of ``Finding`` (may be empty) or ``None``.
    """


@hookspec
def guard_check_index(index, policy, context):
    """Judge one package source: an index URL, extra index, find-links or trusted host.

    :param index: a ``guardpolicy.model.IndexRef``.
    :return: a list of ``Finding`` or ``None``.
    """


@hookspec
def guard_check_model(model, policy, context):
    """Judge one Hugging Face Hub repository reference (model, dataset, space, adapter).

    :param model: a ``guardpolicy.model.ModelRef``.
    :return: a list of ``Finding`` or ``None``.
    """


@hookspec
def guard_check_file(file, policy, context):
    """Judge one local artifact file (format, pickle contents, digest).

    :param file: a ``guardpolicy.model.FileRef``.
    :return: a list of ``Finding`` or ``None``.
    """


@hookspec(firstresult=True)
def guard_make_source(target, options):
    """Turn one ``guard check`` target string into a source, if this plugin understands it.

    :param target: as typed by the user (a path, ``pypi:NAME``, ``hf:ORG/NAME@REV``, a URL).
    :param options: the engine's ``CheckOptions``.
    :return: an object with ``collect()`` yielding subjects (see
        ``guardpolicy.sources.interface.Source``), or ``None`` to let other plugins try.
    """


@hookspec
def guard_formats():
    """Offer report formats.

    :return: a dict ``{name: Format subclass}`` (see ``guardpolicy.report.interface``).
    """


@hookspec
def guard_decision_made(decision, subjects, policy):
    """Observe a final decision (audit trail, metrics). Return value is ignored.

    Called once per ``guard check`` run (``guardpolicy.cli.check``) and once per gated runtime
    operation (``guardpolicy.runtime.gate.enforce``, before a denial is raised).
    ``decision.origin`` is ``cli`` or ``runtime`` and ``decision.operation`` names the gated
    operation; ``subjects`` are the judged subjects (``decision.checked``). The built-in
    ``audit-log`` plugin (``guardpolicy.audit.plugin``) implements it. An implementation must
    not raise: the decision stands whatever an observer does.
    """
