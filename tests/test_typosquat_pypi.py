"""The ``typosquat`` rule on PyPI names: real historical squats caught, real look-alike projects not.

Everything runs through the real engine with the shipped default policy (or a policy file
written by the test), on the shipped data.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from guardpolicy.engine import CheckOptions, Engine
from guardpolicy.model import PackageRef
from guardpolicy.policy import load_policy
from guardpolicy.similarity import data
from guardpolicy.similarity.pypi import MatchOptions, PypiIndex


@pytest.fixture(scope="module")
def default_policy():
    return load_policy("default")


def squat_findings(policy, *names):
    decision = Engine(policy, CheckOptions()).decide([PackageRef(name=n, specifier="==1.0", version="1.0") for n in names])
    return [f for f in decision.findings if f.rule == "typosquat"]


def target_of(policy, name):
    found = squat_findings(policy, name)
    assert len(found) == 1, f"{name} not flagged"
    return found[0].details.get("target")


#: Real typosquats seen on PyPI (SK-CSIRT 2017, 2018-2019 reports, the DataDog malicious dataset),
#: with the project each imitated.
HISTORICAL = [
    ("reqeusts", "requests"),
    ("python3-dateutil", "python-dateutil"),
    ("jeIlyfish", "jellyfish"),
    ("urlib3", "urllib3"),
    ("urllib", "urllib3"),
    ("colourama", "colorama"),
    ("djanga", "django"),
    ("diango", "django"),
    ("setup-tools", "setuptools"),
    ("python-sqlite", "pysqlite3"),
    ("acqusition", "acquisition"),
    ("requesxts", "requests"),
    ("requ-sts", "requests"),
    ("flaask", "flask"),
    ("flsak", "flask"),
    ("marshmellow", "marshmallow"),
    ("lanchain-openai", "langchain-openai"),
    ("opentelematry-api", "opentelemetry-api"),
    ("pydantics", "pydantic"),
    ("oraceldb", "oracledb"),
    ("eht-account", "eth-account"),
    ("controlnot-aux", "controlnet-aux"),
    ("usar-agent", "user-agent"),
    ("faiss-gp", "faiss-gpu"),
    ("open-clips-torch", "open-clip-torch"),
    ("torchs-visions", "torchvision"),
    ("stripe-client", "stripe"),
    ("pylint-py", "pylint"),
    ("pythonhttpx", "httpx"),
    ("install-pytest", "pytest"),
]

#: The peer (one edit, linear scan) misses these shapes; the issue names them.
BEYOND_ONE_EDIT = [
    ("python3-flask", "flask"),        # prefix
    ("requests-py", "requests"),       # suffix
    ("requests2", "requests"),         # trailing version
    ("requests-v2", "requests"),
    ("py-numpy", "numpy"),
    ("numpy-python", "numpy"),
    ("stripepy", "stripe"),
    ("pandas-sdk", "pandas"),
    ("pandas-numpy", "numpy"),         # two popular names glued
    ("django-pyyaml", "pyyaml"),
    ("requests-flask", "requests"),
    ("numpy-install", "numpy"),        # popular + installer word
    ("os-numpy", "numpy"),
    ("matlibplot", "matplotlib"),      # long name, letters reordered
    ("matplotlob", "matplotlib"),
    ("scikit-lean", "scikit-learn"),
    ("tensorfloww", "tensorflow"),
    ("tensorfolw", "tensorflow"),
    ("rnatplotlib", "matplotlib"),     # rn -> m
    ("vvheel", "wheel"),               # vv -> w
    ("reque5ts", "requests"),
    ("b0to3", "boto3"),                # short name: folding only
    ("SETUP_TOOLS", "setuptools"),
]


#: Weak evidence offline (warned, not denied): shapes real long-tail projects share. Online, the
#: index decides (an established project is cleared, one created days ago is denied).
WEAK = {
    "python-sqlite": "a python affix",      # pysqlite3 ranks below the top 100
    "acqusition": "one edit", "controlnot-aux": "one edit", "usar-agent": "one edit",
    "faiss-gp": "one edit",                 # targets below the top 1,000
    "open-clips-torch": "one edit", "torchs-visions": "two edits",
    "requests2": "a version", "requests-v2": "a version",
    "pandas-numpy": "two popular names", "django-pyyaml": "two popular names", "requests-flask": "two popular names",
    "urllib": "a number changed", "pydantics": "a plural",
    # a python affix on a name below the top 100 (pyamqp, py-bcrypt are how bindings are named)
    "pylint-py": "a python affix", "python3-flask": "a python affix", "stripepy": "a python affix",
}


@pytest.mark.parametrize("name, target", HISTORICAL + BEYOND_ONE_EDIT)
def test_squats_are_flagged_with_the_imitated_name_and_their_evidence(default_policy, name, target):
    found = squat_findings(default_policy, name)
    assert len(found) == 1, f"{name} not flagged"
    f = found[0]
    if name in WEAK:
        assert f.action == "warn" and f.details["strength"] == "weak"
        assert WEAK[name] in f.details["evidence"], f.details["evidence"]
    else:
        assert f.action == "deny" and f.details["strength"] == "strong"
    assert f.details["evidence"] in f.message
    assert f.details["target"] == target
    assert target in f.suggestion
    assert f.subject == f"{name}==1.0"


#: Real projects that look like other real projects. Each is in the shipped top list.
LEGIT_LOOK_ALIKES = [
    "boto", "boto3", "pyyaml", "PyYAML", "ruamel.yaml", "ruamel_yaml", "flask-cors", "pytest-django",
    "requests-oauthlib", "types-requests", "numpy", "numba", "scipy", "scapy", "django-rest-framework",
    "djangorestframework", "msgpack-numpy", "jwt", "pyjwt", "dotenv", "python-dotenv", "crypto",
    "pycrypto", "bs4", "beautifulsoup4", "psycopg", "psycopg2", "sklearn", "torch", "pytorch",
    "urllib3", "requests", "mysql", "mysqlclient", "flask-api", "Flask_Cors",
]


@pytest.mark.parametrize("name", LEGIT_LOOK_ALIKES)
def test_legit_look_alikes_are_not_flagged(default_policy, name):
    assert squat_findings(default_policy, name) == []


def test_no_popular_name_is_ever_flagged():
    """Precision on the whole shipped list: each of the 15,000 names checked as a candidate."""
    idx = data.pypi_index()
    names = data.pypi_top()
    assert len(names) >= 15000
    flagged = [n for n in names if idx.match(n) is not None]
    assert flagged == []


def test_no_popular_name_is_flagged_through_the_rule(default_policy):
    from guardpolicy.rules.typosquat import check_name

    flagged = [n for n in data.pypi_top()[:3000] if check_name(n, default_policy) is not None]
    assert flagged == []


@pytest.mark.parametrize("name", ["crypt", "bzip", "telnet", "pwd", "apidev-coop", "django-server", "0wneg"])
def test_known_malicious_exact_hit_is_denied_outright(default_policy, name):
    from guardpolicy.engine import Engine

    found = [f for f in Engine(default_policy).decide([PackageRef(name)]).findings if f.rule == "malicious"]
    assert len(found) == 1
    assert found[0].action == "deny"
    assert found[0].details["known_malicious"] is True


def test_known_malicious_is_its_own_rule_and_denied_when_typosquat_only_warns(tmp_path):
    from guardpolicy.engine import Engine

    policy = write_policy(tmp_path, '[rules.typosquat]\naction = "warn"\n')
    d = Engine(policy).decide([PackageRef("crypt"), PackageRef("reqeusts")])
    by_rule = {(f.rule, f.subject): f.action for f in d.findings}
    assert by_rule[("malicious", "crypt")] == "deny"
    # an ordinary squat follows the policy's action
    assert by_rule[("typosquat", "reqeusts")] == "warn"


def test_compromised_lib_rows_are_not_malicious_names(default_policy):
    from guardpolicy.rules.malicious import check_name as malicious_name

    cat, _ = data.pypi_malicious()["num2words"]
    assert cat == "compromised_lib"
    assert squat_findings(default_policy, "num2words") == []
    assert malicious_name("num2words") is None


def test_known_malicious_can_be_turned_off(tmp_path):
    from guardpolicy.engine import Engine

    policy = write_policy(tmp_path, '[rules.malicious]\naction = "off"\n')
    assert [f for f in Engine(policy).decide([PackageRef("0wneg")]).findings if f.rule == "malicious"] == []


def write_policy(tmp_path: Path, body: str, name: str = "guard.toml"):
    path = tmp_path / name
    path.write_text('extends = ["default"]\n' + body, encoding="utf-8")
    return load_policy(str(path))


def test_allowlisted_names_are_never_flagged(tmp_path):
    policy = write_policy(tmp_path, 'allow = ["reqeusts", "acme-*", "Python3_Dateutil"]\n')
    assert squat_findings(policy, "reqeusts") == []
    assert squat_findings(policy, "python3-dateutil") == []
    assert squat_findings(policy, "requets")  # not allowed: still a squat


def test_allow_glob_covers_known_malicious(tmp_path):
    from guardpolicy.engine import Engine

    policy = write_policy(tmp_path, 'allow = ["crypt*"]\n')
    assert squat_findings(policy, "crypt") == []
    assert Engine(policy).decide([PackageRef("crypt", "==1.0", version="1.0")]).findings == ()


def test_names_close_to_protected_names_are_squats(tmp_path):
    policy = write_policy(tmp_path, '[sources]\nprotected = ["acme-billing"]\n')
    assert squat_findings(policy, "acme-billing") == []
    assert squat_findings(policy, "Acme_Billing") == []
    # typos and look-alikes of it are squats
    assert target_of(policy, "acme-biling") == "acme-billing"
    assert target_of(policy, "acrne-billing") == "acme-billing"
    assert target_of(policy, "acme-billing-py") == "acme-billing"
    assert target_of(policy, "acmebilling") == "acme-billing"
    # a look-alike of a namespace glob; names inside the namespace are the org's own
    policy = write_policy(tmp_path, '[sources]\nprotected = ["acme-*"]\n', "glob.toml")
    assert squat_findings(policy, "acme-anything") == []
    assert target_of(policy, "acrne-payments") == "acme-*"
    # unrelated names stay clean
    assert squat_findings(policy, "zebra-billing-tools") == []


def test_popular_names_beat_protected_ones(tmp_path):
    policy = write_policy(tmp_path, '[sources]\nprotected = ["reqests"]\n')
    assert squat_findings(policy, "requests") == []


def test_unrelated_unknown_names_are_not_flagged(default_policy):
    for name in ("my-company-internal-tool", "zzzyyyxxx", "a", "qq", "flibbertigibbet"):
        assert squat_findings(default_policy, name) == [], name


def test_short_names_only_match_by_folding(default_policy):
    assert target_of(default_policy, "b0to") == "boto"
    # four letters, one edit from 'attrs'/'six'-like short names: not flagged by edit distance
    idx = data.pypi_index()
    assert idx.fuzzy("sixx") is None
    assert idx.fuzzy("tqmd") is None


def test_findings_keep_location_and_json_shape(default_policy):
    from guardpolicy.model import Location

    ref = PackageRef(name="reqeusts", specifier="==2.0", version="2.0", location=Location("req.txt", 3))
    decision = Engine(default_policy).decide([ref])
    [f] = [f for f in decision.findings if f.rule == "typosquat"]
    d = f.to_dict()
    assert d["location"] == {"file": "req.txt", "line": 3}
    assert d["suggestion"].startswith("did you mean 'requests'")
    assert d["details"]["target"] == "requests"


def test_rule_off_and_mode_warn(tmp_path):
    off = write_policy(tmp_path, '[rules.typosquat]\naction = "off"\n', "off.toml")
    decision = Engine(off).decide([PackageRef(name="reqeusts", specifier="==1", version="1")])
    assert [f for f in decision.findings if f.rule == "typosquat"] == []
    warn = write_policy(tmp_path, 'mode = "warn"\n', "warn.toml")
    decision = Engine(warn).decide([PackageRef(name="reqeusts", specifier="==1", version="1")])
    assert decision.decision == "warn"


def test_rank_options_change_reach(tmp_path):
    narrow = write_policy(tmp_path, "[rules.typosquat]\none_edit_rank = 100\n")
    assert squat_findings(narrow, "reqeusts")            # requests is in the top 100
    assert squat_findings(narrow, "acquisitionn") == []  # acquisition is ranked ~8,600
    no_combo = write_policy(tmp_path, "[rules.typosquat]\ncombosquats = false\n", "nc.toml")
    assert squat_findings(no_combo, "pandas-numpy") == []


def test_bad_option_type_is_a_policy_error(tmp_path):
    from guardpolicy.errors import PolicyError

    with pytest.raises(PolicyError):
        write_policy(tmp_path, '[rules.typosquat]\none_edit_rank = "many"\n')


# ---- the matcher on a small hand-made list (independent of the shipped data) ----------------

def small_index(**kw):
    return PypiIndex(["requests", "numpy", "pandas", "flask", "python-dateutil", "matplotlib", "six",
                      "pytest", "pytest-django", "django"], MatchOptions(**kw))


def test_small_index_basics():
    idx = small_index()
    assert idx.match("requests") is None
    assert idx.match("Requests") is None
    assert idx.match("reqeusts").target == "requests"
    assert idx.match("dateutil").target == "python-dateutil"       # affix swap: the popular name's core
    assert idx.match("python3-dateutil").target == "python-dateutil"
    assert idx.match("numpy-pandas").kind == "combosquat"
    assert idx.match("pandas-fun") is None                          # popular + ordinary word
    assert idx.match("six2").target == "six"                        # version affix on a short name
    assert idx.match("sixx") is None                                # short: no edits
    assert idx.match("pytest-numpy").kind == "combosquat"
    assert idx.match("") is None


def test_versioned_popular_names_need_an_affix_on_the_candidate():
    idx = PypiIndex(["pysqlite3", "ldap3", "web3"])
    assert idx.match("python-sqlite").target == "pysqlite3"
    assert idx.match("py-ldap").target == "ldap3"
    assert idx.match("sqlite") is None   # a bare word is not taken for a numbered project


def test_combo_needs_both_halves_popular():
    idx = small_index(combo_rank=3)
    assert idx.match("requests-pandas").kind == "combosquat"
    assert idx.match("requests-pytest") is None  # pytest is ranked below the combo cut


def test_two_edits_only_for_long_names_against_top_targets():
    idx = small_index(two_edit_rank=6)
    assert idx.match("matplotlob").target == "matplotlib"   # one edit
    assert idx.match("mattplotlob").target == "matplotlib"  # two edits, long, top target
    assert idx.match("pnadsa") is None                      # short: two edits never count
    idx = small_index(two_edit_rank=2)
    assert idx.match("mattplotlob") is None                 # matplotlib outside the two-edit cut


def test_generic_tokens_are_not_brands():
    names = ["core"] + [f"x{i}-core" for i in range(40)] + ["numpy"]
    idx = PypiIndex(names, MatchOptions(generic_component=30))
    assert "core" in idx.generic_tokens
    assert idx.match("numpy-core") is None


# ---- shapes guarddog-style generators produce, and their grading --------------------------------

@pytest.mark.parametrize("name, target, strong", [
    ("learn-scikit", "scikit-learn", True),                # words reordered
    ("storage-cloud-google", "google-cloud-storage", True),
    ("google-cloud-py-storage", "google-cloud-storage", False),  # a py word added inside
    ("py-google-auth", "google-auth", True),               # python affix on a top-100 name
    ("bson-update", "bson", True),                         # installer word on any listed name
    ("install-pymongo", "pymongo", True),
    ("mypy-boto3-resource-groyps", "mypy-boto3-resource-groups", False),  # namespace member: weak
    ("tensorflwo-datsets", "tensorflow-datasets", False),  # two edits of a long name: weak
])
def test_reorderings_python_words_installer_words_and_two_edits(name, target, strong):
    m = data.pypi_index().match(name)
    assert m is not None and m.target == target, m
    assert m.strong is strong, m.evidence


@pytest.mark.parametrize("candidate, target, shape", [
    ("djongo", "django", None),                       # one letter inside a word: a slip
    ("xoto3", "boto3", "a different first letter"),
    ("pypdf4", "pypdf", "a number changed"),
    ("botostubs", "boto3-stubs", "a number changed"),
    ("panda", "pandas", "a plural"),
    ("django-q", "django", "a word added"),
    ("dbt-score", "dbt-core", "a different first letter of a word"),
])
def test_sibling_shapes(candidate, target, shape):
    from guardpolicy.similarity.pypi import sibling_shape

    assert sibling_shape(candidate, target) == shape


def test_the_first_names_in_a_process_pay_no_table_build():
    idx = data.pypi_index()
    # every lazily built table exists once the shipped index is handed out
    for attr in ("by_fold", "by_plain", "_near", "_two_edit_buckets", "_anagrams", "by_words", "generic_tokens"):
        assert attr in idx.__dict__, attr
