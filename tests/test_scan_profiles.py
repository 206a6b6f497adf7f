"""Pickle profiles (``[rules.pickle] profiles``): everyday numpy / pandas / scikit-learn / scipy /
stdlib pickles load without a finding, dangerous globals hidden in the same files are still denied
(and named "dangerous"), unknown classes are denied (or warned about) with a message that says so.

Every benign case is a real object written by ``pickle`` (protocols 2, 4, 5) and ``joblib.dump``.
"""

from __future__ import annotations

import collections
import datetime
import decimal
import fractions
import ipaddress
import json
import os
import pathlib
import pickle
import random
import re
import uuid
import warnings
import zoneinfo

import pytest

# fits and pickles hundreds of real scikit-learn, pandas and scipy objects (and importing them costs
# each test worker seconds): runs with the slow set, which CI runs in full
pytestmark = pytest.mark.slow

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
joblib = pytest.importorskip("joblib")
sklearn = pytest.importorskip("sklearn")
sp = pytest.importorskip("scipy.sparse")

import pickle_payloads as P  # noqa: E402
from conftest import run_guard  # noqa: E402

from guardpolicy import load_policy, scan_path  # noqa: E402
from guardpolicy.scan import allowlist, profiles  # noqa: E402
from guardpolicy.scan.allowlist import danger, is_safe, named_danger  # noqa: E402
from guardpolicy.scan.profile_data import PROFILES  # noqa: E402

warnings.filterwarnings("ignore")
RNG = np.random.RandomState(0)
X = np.abs(RNG.rand(40, 4)) + 0.1
Y = np.array([0, 1] * 20)
FRAME = pd.DataFrame({"num": X[:, 0], "num2": X[:, 1], "cat": ["red", "blue"] * 20})


class Evil:
    """Unpickling this runs ``os.system(cmd)`` (never loaded here)."""

    def __init__(self, cmd="id"):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


def sklearn_objects():
    from sklearn import (
        calibration,
        cluster,
        compose,
        decomposition,
        ensemble,
        feature_extraction,
        impute,
        linear_model,
        model_selection,
        naive_bayes,
        neighbors,
        neural_network,
        pipeline,
        preprocessing,
        svm,
        tree,
    )

    reg_y = X[:, 0] * 2
    yield "random forest", ensemble.RandomForestClassifier(n_estimators=3, random_state=0).fit(X, Y)
    yield "random forest regressor", ensemble.RandomForestRegressor(n_estimators=3).fit(X, reg_y)
    yield "extra trees", ensemble.ExtraTreesClassifier(n_estimators=3).fit(X, Y)
    yield "gradient boosting", ensemble.GradientBoostingClassifier(n_estimators=3).fit(X, Y)
    yield "hist gradient boosting", ensemble.HistGradientBoostingRegressor(max_iter=3).fit(X, reg_y)
    yield "isolation forest", ensemble.IsolationForest(n_estimators=3).fit(X)
    yield "decision tree", tree.DecisionTreeClassifier().fit(X, Y)
    yield "logistic regression", linear_model.LogisticRegression().fit(X, Y)
    yield "linear models", [linear_model.LinearRegression().fit(X, reg_y), linear_model.Ridge().fit(X, reg_y),
                            linear_model.Lasso().fit(X, reg_y), linear_model.ElasticNet().fit(X, reg_y),
                            linear_model.SGDClassifier().fit(X, Y), linear_model.PoissonRegressor().fit(X, reg_y)]
    yield "svm", [svm.SVC(probability=True).fit(X, Y), svm.SVR().fit(X, reg_y), svm.LinearSVC().fit(X, Y)]
    yield "neighbours", [neighbors.KNeighborsClassifier(algorithm=a).fit(X, Y) for a in ("kd_tree", "ball_tree", "brute")]
    yield "naive bayes", [naive_bayes.GaussianNB().fit(X, Y), naive_bayes.MultinomialNB().fit(X, Y)]
    yield "clustering", [cluster.KMeans(2, n_init=1).fit(X), cluster.DBSCAN().fit(X),
                         cluster.AgglomerativeClustering().fit(X), cluster.BisectingKMeans(2).fit(X)]
    yield "decomposition", [decomposition.PCA(2).fit(X), decomposition.TruncatedSVD(2).fit(X),
                            decomposition.NMF(2, max_iter=20).fit(X)]
    yield "scalers and encoders", [preprocessing.StandardScaler().fit(X), preprocessing.MinMaxScaler().fit(X),
                                   preprocessing.RobustScaler().fit(X), preprocessing.OneHotEncoder().fit(FRAME[["cat"]]),
                                   preprocessing.OrdinalEncoder().fit(FRAME[["cat"]]),
                                   preprocessing.LabelEncoder().fit(["a", "b"]), preprocessing.PolynomialFeatures().fit(X),
                                   impute.SimpleImputer().fit(X)]
    yield "pipeline", pipeline.Pipeline([("s", preprocessing.StandardScaler()),
                                         ("m", linear_model.LogisticRegression())]).fit(X, Y)
    ct = compose.ColumnTransformer([
        ("num", preprocessing.StandardScaler(), ["num", "num2"]),
        ("cat", preprocessing.OneHotEncoder(handle_unknown="ignore"), compose.make_column_selector(dtype_include=object)),
    ])
    yield "column transformer on a frame", pipeline.make_pipeline(ct, ensemble.RandomForestClassifier(3)).fit(FRAME, Y)
    yield "function transformer", preprocessing.FunctionTransformer(np.log1p, inverse_func=np.expm1).fit(X)
    yield "grid search", model_selection.GridSearchCV(svm.SVC(), {"C": [0.1, 1.0]}, cv=2, scoring="f1").fit(X, Y)
    yield "cross validate", model_selection.cross_validate(linear_model.LogisticRegression(), X, Y, cv=2,
                                                             return_estimator=True)
    yield "tfidf", feature_extraction.text.TfidfVectorizer().fit(["red apple", "green pear"])
    yield "mlp", neural_network.MLPClassifier(max_iter=5).fit(X, Y)
    yield "calibrated", calibration.CalibratedClassifierCV(cv=2).fit(X, Y)
    yield "voting and stacking", [
        ensemble.VotingClassifier([("a", tree.DecisionTreeClassifier()), ("b", naive_bayes.GaussianNB())]).fit(X, Y),
        ensemble.StackingClassifier([("a", tree.DecisionTreeClassifier())], cv=2).fit(X, Y)]


def pandas_objects():
    frame = pd.DataFrame({
        "int": [1, 2, 3], "float": [1.5, None, 3.0], "str": ["a", "b", None], "category": pd.Categorical(["x", "y", "x"]),
        "utc": pd.date_range("2024", periods=3, tz="UTC"), "paris": pd.date_range("2024", periods=3, tz="Europe/Paris"),
        "naive": pd.date_range("2024", periods=3), "delta": pd.to_timedelta([1, 2, 3], unit="s"),
        "period": pd.period_range("2024-01", periods=3, freq="M"), "interval": pd.interval_range(0, 3),
        "Int64": pd.array([1, None, 3], dtype="Int64"), "boolean": pd.array([True, None, False], dtype="boolean"),
        "sparse": pd.arrays.SparseArray([0, 0, 1]), "arrow": pd.array(["u", None, "w"], dtype="string[pyarrow]"),
    })
    frame.attrs["source"] = "unit test"
    yield "dataframe of every dtype", frame
    yield "series", pd.Series([1.0, 2.0], index=pd.Index(["a", "b"], name="k"), name="s")
    yield "indexes", [pd.RangeIndex(3), pd.MultiIndex.from_product([[1, 2], ["a", "b"]]), pd.CategoricalIndex(["a"]),
                      pd.date_range("2024", periods=2, freq="B"), pd.period_range("2024Q1", periods=2, freq="Q")]
    yield "scalars", [pd.Timestamp("2024-01-01", tz="Asia/Tokyo"), pd.Timedelta("1D"), pd.Period("2024-01", "M"),
                      pd.Interval(0, 1), pd.NaT, pd.NA, pd.offsets.MonthEnd(2), pd.offsets.DateOffset(months=1)]
    yield "categorical", pd.Categorical(["lo", "hi"], categories=["lo", "hi"], ordered=True)
    yield "groupby result", frame[["int", "float", "str"]].groupby("str").mean()


def numpy_objects():
    yield "arrays of many dtypes", [np.zeros(3, dtype=k) for k in ("?", "i1", "u2", "i8", "f2", "f4", "f8", "c16",
                                                                      "U3", "S3", "M8[ns]", "m8[s]", "O")]
    yield "structured", np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8", (2,))])
    yield "masked", np.ma.masked_array([1.0, 2.0], mask=[0, 1])
    yield "matrix and recarray", [np.matrix([[1, 2]]), np.rec.array([(1, 2.0)])]
    yield "string dtype", np.array(["a", "bc"], dtype=np.dtypes.StringDType())
    yield "generators", [np.random.default_rng(1), np.random.RandomState(2), np.random.Generator(np.random.Philox(3))]
    yield "scalars and dtype classes", [np.float32(1), np.int64(2), np.float64, np.int32, np.log1p]


def stdlib_objects():
    yield "collections", [collections.deque([1, 2], maxlen=3), collections.OrderedDict(a=1),
                          collections.defaultdict(list, {"a": [1]}), collections.Counter("abca"),
                          collections.ChainMap({"a": 1}), collections.UserDict(a=1)]
    yield "regex", [re.compile(r"\d+", re.I), re.compile(rb"x+")]
    r = random.Random(5)
    r.random()
    yield "random state", r
    yield "datetime and zoneinfo", [datetime.datetime(2024, 1, 1, tzinfo=zoneinfo.ZoneInfo("America/New_York")),
                                    datetime.timedelta(days=2), datetime.date(2024, 1, 1)]
    yield "numbers", [decimal.Decimal("1.10"), decimal.getcontext().copy(), fractions.Fraction(1, 3)]
    yield "ids and paths", [uuid.UUID(int=7), pathlib.PurePosixPath("/data"), ipaddress.ip_network("10.0.0.0/8")]


def scipy_objects():
    m = np.array([[0, 1.0], [2.0, 0]])
    yield "sparse", [sp.csr_matrix(m), sp.csc_array(m), sp.coo_matrix(m), sp.lil_matrix(m), sp.dok_array(m)]


BENIGN = {f"{group}: {name}": obj for group, gen in (("sklearn", sklearn_objects), ("pandas", pandas_objects),
                                                      ("numpy", numpy_objects), ("stdlib", stdlib_objects),
                                                      ("scipy", scipy_objects))
          for name, obj in gen()}
WRITERS = ["pickle 2", "pickle 4", "pickle 5", "joblib", "joblib compressed"]


def write(path, obj, writer):
    if writer.startswith("pickle"):
        path.write_bytes(pickle.dumps(obj, protocol=int(writer.split()[1])))
    else:
        joblib.dump(obj, path, compress=3 if "compressed" in writer else 0)
    return path


def call(module, name, *args):
    """Opcodes of ``module.name(*args)`` (string arguments), to put inside ``listing``."""
    return P.s(module) + P.s(name) + b"\x93(" + b"".join(P.s(a) for a in args) + b"tR"


def listing(*calls):
    """A protocol-4 pickle of a list of call results: globals that need not be importable here."""
    return b"\x80\x04]" + b"".join(c + b"a" for c in calls) + b"."


def pickle_findings(path, policy=None):
    return [f for f in scan_path(path, policy) if f.rule == "pickle"]


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("name", sorted(BENIGN))
def test_everyday_objects_pass_under_the_default_profiles(tmp_path, name, writer):
    path = write(tmp_path / "obj.pkl", BENIGN[name], writer)
    assert pickle_findings(path) == [], name


@pytest.mark.parametrize("name", ["sklearn: random forest", "sklearn: pipeline", "pandas: dataframe of every dtype",
                                  "stdlib: collections", "stdlib: regex", "stdlib: random state"])
def test_the_default_policy_enables_the_same_profiles(tmp_path, name):
    path = write(tmp_path / "obj.pkl", BENIGN[name], "joblib")
    assert pickle_findings(path, load_policy("default", cwd=tmp_path, env={})) == []


def test_pandas_to_pickle_and_joblib_of_a_model(tmp_path):
    BENIGN["pandas: dataframe of every dtype"].to_pickle(tmp_path / "frame.pkl")
    joblib.dump(BENIGN["sklearn: random forest"], tmp_path / "rf.joblib")
    assert scan_path(tmp_path) == []


# -- strict and custom profile lists --------------------------------------------------------------

def _policy(tmp_path, text):
    (tmp_path / "guard.toml").write_text('extends = ["default"]\n' + text)
    return load_policy(str(tmp_path / "guard.toml"), cwd=tmp_path, env={})


def test_strict_enables_numpy_collections_and_stdlib_only(tmp_path):
    strict = load_policy("strict", cwd=tmp_path, env={})
    assert strict.rule("pickle").get("profiles") == ["numpy", "collections", "stdlib-data"]
    ok = write(tmp_path / "ok.pkl", {"a": np.arange(3), "d": collections.deque([1]), "r": re.compile("x")}, "pickle 4")
    assert pickle_findings(ok, strict) == []
    model = write(tmp_path / "model.joblib", BENIGN["sklearn: pipeline"], "joblib")
    (finding,) = pickle_findings(model, strict)
    assert finding.message.startswith("not in the allowlist or any enabled profile: sklearn.pipeline.Pipeline")
    assert "[in profile 'sklearn', not enabled]" in finding.message and finding.action is None
    assert [f.rule for f in scan_path(model, strict)] == ["pickle", "format"]  # and the format is refused anyway


def test_a_policy_can_narrow_the_profiles(tmp_path):
    numpy_only = _policy(tmp_path, '[rules.pickle]\nprofiles = ["numpy"]\n')
    arr = write(tmp_path / "a.pkl", np.ma.masked_array([1, 2]), "pickle 4")
    frame = write(tmp_path / "f.pkl", pd.DataFrame({"a": [1]}), "pickle 4")
    assert pickle_findings(arr, numpy_only) == []
    assert pickle_findings(frame, numpy_only)
    none = _policy(tmp_path, "[rules.pickle]\nprofiles = []\n")
    assert pickle_findings(arr, none)


def test_unknown_globals_warn_while_dangerous_ones_stay_denied(tmp_path):
    warn = _policy(tmp_path, '[rules.pickle]\nunknown_globals = "warn"\n')
    path = tmp_path / "m.pkl"
    path.write_bytes(listing(call("mylib.models", "Net"), call("posix", "system", "id")))
    by_kind = {f.details["kind"]: f for f in pickle_findings(path, warn)}
    assert by_kind["unknown"].action == "warn" and by_kind["dangerous"].action is None
    res = run_guard("scan", "--policy", "research", "-f", "json", path, cwd=tmp_path)
    actions = {f["details"]["kind"]: f["action"] for f in json.loads(res.stdout)["findings"]}
    assert actions == {"unknown": "warn", "dangerous": "deny"} and res.returncode == 1


def test_unknown_is_a_warning_only_under_research(tmp_path):
    path = tmp_path / "m.pkl"
    path.write_bytes(P.stack_global("mylib.models", "Net"))
    assert run_guard("scan", path, cwd=tmp_path).returncode == 1
    res = run_guard("scan", "--policy", "research", path, cwd=tmp_path)
    assert res.returncode == 0 and "warn [pickle] not in the allowlist or any enabled profile: mylib.models.Net" in res.stdout


# -- dangerous globals in everyday files ----------------------------------------------------------

def _dangerous(path, policy=None):
    found = [f for f in pickle_findings(path, policy) if f.details.get("kind") == "dangerous"]
    return found[0] if found else None


@pytest.mark.parametrize("writer", ["pickle 4", "joblib", "joblib compressed"])
def test_a_pipeline_step_that_runs_a_command(tmp_path, writer):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = Pipeline([("scale", StandardScaler().fit(X)), ("evil", Evil("touch /tmp/pwned"))])
    f = _dangerous(write(tmp_path / "pipe.pkl", pipe, writer))
    assert f is not None and f.message.startswith("dangerous: posix.system: module posix gives code execution")
    assert "sklearn" not in f.message  # the everyday globals are not reported


def test_a_function_transformer_calling_eval_or_system(tmp_path):
    from sklearn.preprocessing import FunctionTransformer

    for func, name in ((eval, "builtins.eval"), (os.system, "posix.system")):
        f = _dangerous(write(tmp_path / "ft.joblib", FunctionTransformer(func), "joblib"))
        assert f is not None and name in f.message


def test_dataframe_attrs_holding_a_payload(tmp_path):
    frame = pd.DataFrame({"a": [1, 2]})
    frame.attrs["meta"] = Evil()
    frame.to_pickle(tmp_path / "frame.pkl")
    assert "posix.system" in _dangerous(tmp_path / "frame.pkl").message


def test_a_forest_with_a_payload_in_an_estimator(tmp_path):
    forest = BENIGN["sklearn: random forest"]
    original = forest.estimators_[0]
    forest.estimators_[0] = Evil()
    try:
        path = write(tmp_path / "rf.joblib", forest, "joblib")
    finally:
        forest.estimators_[0] = original
    assert "posix.system" in _dangerous(path).message


def test_scipy_distributions_are_dangerous_not_unknown(tmp_path):
    stats = pytest.importorskip("scipy.stats")
    path = write(tmp_path / "d.pkl", stats.norm, "pickle 4")
    f = _dangerous(path)
    assert f is not None and "exec() a code string from the pickled state" in f.message


@pytest.mark.parametrize("module,name", [
    ("pandas", "eval"), ("pandas", "read_pickle"), ("pandas", "read_csv"), ("pandas.io.pickle", "read_pickle"),
    ("pandas.core.computation.eval", "eval"), ("numpy", "load"), ("numpy", "memmap"), ("numpy", "fromfile"),
    ("numpy.core", "_ufunc_reconstruct"), ("numpy.ctypeslib", "load_library"), ("joblib", "load"),
    ("sklearn.utils._joblib", "load"), ("sklearn.externals.joblib", "load"), ("sklearn.callback", "ScoringMonitor"),
    ("scipy.stats._continuous_distns", "norm_gen"), ("functools", "partial"), ("operator", "attrgetter"),
    ("copyreg", "__newobj__"), ("pickle", "loads"), ("marshal", "loads"), ("runpy", "run_path"),
    ("importlib", "import_module"), ("builtins", "getattr"), ("builtins", "__import__"), ("builtins", "open"),
    ("pydoc", "pipepager"), ("logging.config", "dictConfig"), ("logging.handlers", "SocketHandler"),
    ("bz2", "BZ2File"), ("zoneinfo", "ZoneInfo.__init__"),
])
def test_no_profile_allows_what_can_run_code(module, name):
    assert not is_safe(module, name, profiles=profiles.KNOWN)
    assert danger(module, name)


def test_deny_wins_over_a_profile_and_a_glob(monkeypatch):
    monkeypatch.setattr(profiles, "profile_pairs", lambda names: frozenset({("os", "system"), ("mylib", "Net")}))
    assert is_safe("mylib", "Net", profiles=("numpy",))
    assert not is_safe("os", "system", profiles=("numpy",))
    assert not is_safe("posix", "system", ("*", "posix.*"))
    assert is_safe("mylib", "Net", ("*",))
    assert is_safe("posix", "system", ("posix.system",))  # an exact entry is a deliberate waiver


def test_every_profile_member_passes_the_deny_check():
    walks = set()
    for name, modules in PROFILES.items():
        assert name in profiles.KNOWN
        for module, names in modules.items():
            for n in names:
                assert named_danger(module, n) is None, (name, module, n)
                if "." in n:
                    walks.add(f"{module}.{n}")
    assert walks == {"zoneinfo.ZoneInfo._unpickle"}  # the only attribute walk, listed exactly


def test_profiles_name_the_generator_and_versions():
    text = (pathlib.Path(allowlist.__file__).parent / "profile_data.py").read_text()
    assert "tools/gen_pickle_profiles.py" in text and "scikit-learn" in text and "Generated 20" in text


# -- getattr on a global and a constant ---------------------------------------------------------

def test_getattr_on_a_global_is_judged_as_the_attribute_it_reaches(tmp_path):
    s = P.s
    zone = b"\x80\x04" + s("builtins") + s("getattr") + b"\x93" + s("zoneinfo") + s("ZoneInfo") + b"\x93" \
        + s("_unpickle") + b"\x86R" + s("UTC") + b"K\x01\x86R."
    path = tmp_path / "zone.pkl"
    path.write_bytes(zone)
    assert pickle_findings(path) == []
    assert pickle.loads(zone) == zoneinfo.ZoneInfo("UTC")  # what it really does
    for attr in ("__init__", "_unpickle.__globals__", "from_file"):
        path.write_bytes(zone.replace(s("_unpickle"), s(attr)))
        assert _dangerous(path) is not None, attr


@pytest.mark.parametrize("payload", [
    # getattr on a computed value, with three arguments, stored in a list, returned
    b"\x80\x04" + P.s("builtins") + P.s("getattr") + b"\x93" + P.s("zoneinfo") + P.s("ZoneInfo") + b"\x93)R"
    + P.s("x") + b"\x86R.",
    b"\x80\x04" + P.s("builtins") + P.s("getattr") + b"\x93" + P.s("zoneinfo") + P.s("ZoneInfo") + b"\x93"
    + P.s("_unpickle") + b"N\x87R.",
    b"\x80\x04]" + P.s("builtins") + P.s("getattr") + b"\x93a.",
    b"\x80\x04" + P.s("builtins") + P.s("getattr") + b"\x93.",
])
def test_getattr_used_any_other_way_is_dangerous(tmp_path, payload):
    path = tmp_path / "g.pkl"
    path.write_bytes(payload)
    f = _dangerous(path)
    assert f is not None and "builtins.getattr" in f.message


# -- messages and policy errors -------------------------------------------------------------------

def test_messages_say_which_case_applies(tmp_path):
    path = tmp_path / "m.pkl"
    path.write_bytes(listing(call("mylib.models", "Net"), call("posix", "system", "id"), call("collections", "deque")))
    dangerous, unknown = pickle_findings(path)
    assert dangerous.message.startswith("dangerous: posix.system: module posix gives code execution")
    assert unknown.message.startswith("not in the allowlist or any enabled profile: mylib.models.Net (STACK_GLOBAL")
    assert "allow it with [rules.pickle] allowed_globals or a profile" in unknown.message
    assert [g["name"] for g in unknown.details["globals"]] == ["Net"]


def test_a_namedtuple_is_a_user_class(tmp_path):
    """A namedtuple pickles as its own class (module.Name), which no profile can vouch for."""
    path = tmp_path / "nt.pkl"
    path.write_bytes(listing(P.s("myproject.types") + P.s("Point") + b"\x93K\x01K\x02\x86\x81"))
    (f,) = pickle_findings(path)
    assert f.details["kind"] == "unknown"
    allowed = _policy(tmp_path, '[rules.pickle]\nallowed_globals = ["myproject.types.Point"]\n')
    assert pickle_findings(path, allowed) == []


@pytest.mark.parametrize("toml,needle", [
    ('profiles = ["numpy", "pandaz"]', "unknown value 'pandaz' (known: numpy, pandas, sklearn, scipy, collections, "
                                       "stdlib-data)"),
    ('profiles = "numpy"', "expected array of strings"),
    ('unknown_globals = "allow"', "must be one of deny, warn"),
])
def test_profile_misuse_is_a_one_line_policy_error(tmp_path, toml, needle):
    (tmp_path / "guard.toml").write_text("[rules.pickle]\n" + toml + "\n")
    (tmp_path / "ok.pkl").write_bytes(pickle.dumps(1))
    res = run_guard("scan", tmp_path / "ok.pkl", cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    lines = [line for line in res.stderr.splitlines() if needle in line]
    assert len(lines) == 1 and "guard.toml:2" in lines[0] and "rules.pickle" in lines[0], res.stderr


# -- the runtime gate -----------------------------------------------------------------------------

def test_runtime_gate_refuses_code_but_lets_stateful_objects_travel():
    from guardpolicy.runtime.unpickle import runtime_danger

    assert runtime_danger("pydoc", "pipepager")
    assert runtime_danger("numpy.core", "_ufunc_reconstruct")
    assert runtime_danger("zoneinfo", "ZoneInfo._unpickle")  # a walk: only a profile lets it through (below)
    for module, name in (("scipy.stats._continuous_distns", "norm_gen"), ("numpy", "memmap"),
                         ("sklearn.ensemble._forest", "RandomForestClassifier"), ("collections", "deque")):
        assert runtime_danger(module, name) is None, (module, name)


@pytest.mark.slow
def test_runtime_gate_honours_the_profiles(tmp_path):
    from runtime_support import outcomes, run_hooked

    policy = tmp_path / "guard.toml"
    env = {"GUARD_POLICY": str(policy), "GUARD_CACHE_DIR": str(tmp_path / "cache")}
    walk = b"\x80\x04" + P.s("zoneinfo") + P.s("ZoneInfo._unpickle") + b"\x93" + P.s("UTC") + b"K\x01\x86R."
    (tmp_path / "walk.pkl").write_bytes(walk)
    model = tmp_path / "rf.joblib"
    joblib.dump(BENIGN["sklearn: random forest"], model)
    code = f'''
        import pickle, joblib
        attempt("walk", pickle.loads, open({str(tmp_path / "walk.pkl")!r}, "rb").read())
        attempt("model", lambda: type(joblib.load({str(model)!r})).__name__)
    '''
    policy.write_text('extends = ["default"]\n')
    o = outcomes(run_hooked(code, env))
    assert o["walk"].startswith("OK") and o["model"] == "OK RandomForestClassifier", o
    policy.write_text('extends = ["default"]\n[rules.pickle]\nprofiles = ["numpy"]\n')
    o = outcomes(run_hooked(code, env))
    assert o["walk"].startswith("BLOCKED") and o["model"] == "OK RandomForestClassifier", o
