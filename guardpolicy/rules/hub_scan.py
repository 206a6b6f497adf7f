"""Rule ``hub-scan``: what the Hub's own malware/pickle scanners say about a repo.

Read only when the command asked for network (``guard check --online``): ``model_info(...,
securityStatus=True)`` returns ``securityRepoStatus = {"scansDone": bool, "filesWithIssues":
[{"path", "level"}, ...]}``. Every file with an issue is a finding; scans not done (or no
status at all) are a finding too, with the action of the ``pending`` option. guard never
treats a clean Hub scan as a clean bill: its own ``format``/``pickle`` rules still run.
"""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..hubids import is_local_only
from ..hubinfo import HubLookupError, repo_facts
from ..model import Finding
from ..policy.schema import STR
from . import Option, RuleInfo

RULE = RuleInfo(
    id="hub-scan",
    summary="The Hub's own security scan flags a file, or has not scanned the repo.",
    help="With `--online`, guard reads the Hub's scan status (`model_info(..., securityStatus=True)`). "
         "Files the Hub marks unsafe or suspicious are reported; so are repos whose scans are not done "
         "(action from the `pending` option). A clean Hub scan does not skip guard's own scanning.",
    default_action="deny",
    options={"pending": Option(STR, "warn", "action when the Hub has not finished (or never ran) its scans: "
                                            "deny, warn or off", choices=("deny", "warn", "off"))},
    example="hf:acme/tiny@0123...: hub-scan: the Hub flags model.bin as unsafe",
    subjects=("model",),
)

_WEAKER = {"deny": 2, "warn": 1, "off": 0}


def issues_from_status(status) -> list:
    """``[(path, level, raw)]`` from a ``securityRepoStatus`` (tolerating odd shapes)."""
    out = []
    for item in (status or {}).get("filesWithIssues") or ():
        if isinstance(item, dict):
            out.append((str(item.get("path", "?")), str(item.get("level", "unknown")), item))
        elif isinstance(item, str):
            out.append((item, "unknown", {"path": item}))
    return out


@hookimpl
def guard_check_model(model, policy, context):
    """Flag a repo the Hub's own security scan marks unsafe or suspicious (online only)."""
    if context is None or context.options.offline:
        return None
    if is_local_only(model):
        return None
    settings = policy.rule("hub-scan")
    if settings.action == "off":  # no request when the policy turned the rule off
        return None
    pending = settings.get("pending", "warn")
    if pending not in _WEAKER:
        pending = "warn"
    # never stronger than the rule itself (a rule set to warn stays a warning)
    pending = min(pending, settings.action, key=_WEAKER.get)
    subject, loc = model.subject, model.location
    try:
        facts = repo_facts(model, context, policy)
    except HubLookupError as exc:
        # --online asked for the Hub's verdict and it could not be had: fail closed (the rule's action)
        return [Finding(rule="hub-scan", subject=subject, location=loc,
                        message=f"could not read the Hub's scan status: {exc}",
                        suggestion="check the repo id, revision and network (a locked commit that is gone must be "
                                   "re-locked), or check without --online")]
    if facts is None:
        return None
    findings = []
    status = facts.security
    for path, level, raw in issues_from_status(status):
        findings.append(Finding(rule="hub-scan", subject=subject, location=loc,
                                message=f"the Hub's scanner flags {path} as {level}",
                                suggestion="do not load this file; use a safetensors copy or another revision",
                                details={"path": path, "level": level, "commit": facts.commit, "hub": raw}))
    if pending != "off":
        if not isinstance(status, dict):
            why = "the Hub returned no scan status" + ("" if facts.security_requested else f" for {model.repo_type} repos")
        elif not status.get("scansDone", False):
            why = "the Hub's scans of this repo are not done"
        else:
            why = None
        if why:
            findings.append(Finding(rule="hub-scan", subject=subject, location=loc, action=pending,
                                    message=f"{why}: its verdict is unknown",
                                    suggestion="wait for the scan, or rely on guard's own scan of the downloaded files",
                                    details={"commit": facts.commit, "scans_done": False}))
    return findings


@hookimpl
def guard_rules():
    """Describe the rule."""
    return [RULE]
