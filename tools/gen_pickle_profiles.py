#!/usr/bin/env python
"""Regenerate ``guardpolicy/scan/profile_data.py``: the globals of each pickle profile.

    python tools/gen_pickle_profiles.py            # writes guardpolicy/scan/profile_data.py
    python tools/gen_pickle_profiles.py --check    # exit 1 when the file would change

Needs numpy, pandas (with pyarrow), scikit-learn, scipy and joblib installed; the versions are
written into the output header. How a pair gets in:

1. Real objects (``corpus_*`` below: arrays of every dtype, DataFrames of every dtype and index,
   every scikit-learn estimator fitted on toy data, sparse matrices, deques, regexes...) are
   written with ``pickle`` protocols 0-5 and ``joblib.dump``; guard's own scanner lists the
   globals each file names outside the base allowlist.
2. Every scikit-learn estimator class (``sklearn.utils.all_estimators``) is added: by
   scikit-learn's contract an estimator's ``__init__`` only stores its parameters.
3. Each accepted object is also listed under the other module paths of its package that bind
   the very same object (``pandas.core.frame.DataFrame`` for ``pandas.DataFrame``), so pickles
   written by older versions, which used those paths, match.
4. Filters: pairs ``allowlist.named_danger`` knows are dropped (deny wins), and so is anything
   in ``EXCLUDED``; every callable that is not a class must be in ``REVIEWED_CALLABLES`` (or a
   numpy ufunc, or a scikit-learn metric), and every class that defines ``__setstate__``,
   ``__reduce__`` or ``__new__`` in Python must be in ``REVIEWED_STATE``: otherwise the script
   stops and names it, so an upgrade cannot slip a new hook in unread.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import decimal
import fractions
import inspect
import io
import ipaddress
import pickle
import random
import re
import sys
import types
import uuid
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from guardpolicy.scan.allowlist import named_danger, py3_name  # noqa: E402
from guardpolicy.scan.containers import Scanner  # noqa: E402

OUTPUT = ROOT / "guardpolicy" / "scan" / "profile_data.py"

#: profile of a global, by its top-level module
PROFILE_OF_TOP = {"numpy": "numpy", "pandas": "pandas", "pyarrow": "pandas", "dateutil": "pandas", "sklearn": "sklearn",
                  "scipy": "scipy", "collections": "collections", "_collections": "collections"}
#: stdlib modules whose value types make up ``stdlib-data``
STDLIB_DATA = {"datetime", "decimal", "fractions", "re", "random", "zoneinfo", "ipaddress", "array", "time",
               "statistics", "enum", "logging", "string", "_decimal", "_pydecimal", "_datetime", "_random",
               "_sre", "_strptime"}

#: never in a profile, whatever the corpus shows (module prefix or "module.name") -> why
EXCLUDED = {
    "sklearn.utils._testing": "test helpers (TempMemmap writes files)",
    "sklearn.datasets": "fetch_* download and write files",
    "sklearn.callback": "callbacks connect to a pickled network address on load",
    "sklearn.utils.parallel": "runs the functions it is given",
    "sklearn.utils._show_versions": "imports modules",
    "sklearn.externals": "vendored libraries (joblib re-exports load)",
    "sklearn.utils._joblib": "joblib re-exports (load, Memory)",
    "sklearn.utils.fixes": "version shims that re-export scipy/numpy functions",
    "pandas.io": "readers and writers",
    "pandas.core.computation": "expression evaluation (eval, query)",
    "pandas.plotting": "imports plotting backends",
    "pandas.util": "test helpers and version probes",
    "pandas.testing": "test helpers",
    "pandas._testing": "test helpers (write files)",
    "numpy.lib.npyio": "loaders and savers",
    "numpy._core.memmap": "memmap opens, creates or truncates files",
    "numpy.testing": "runstring is exec",
    "scipy.stats": "distributions exec() a pickled code string in __setstate__",
    "scipy.io": "readers and writers",
    "pyarrow.fs": "file systems", "pyarrow.parquet": "file readers", "pyarrow.csv": "file readers",
    "pyarrow.feather": "file readers", "pyarrow.dataset": "file readers", "pyarrow.ipc": "readers of pickled streams",
    "pyarrow.lib.ipc": "readers of pickled streams",
}

#: callables that are not classes, read one by one: what they do with constant arguments. Each
#: is also added to its profile (a FeatureAgglomeration may pool with np.median instead of np.mean).
REVIEWED_CALLABLES = {
    # numpy
    "numpy._core._internal._convert_to_stringdtype_kwargs": "StringDType(coerce, na_object)",
    "numpy.mean": "arithmetic mean (FeatureAgglomeration's pooling_func default)", "numpy.median": "median",
    "numpy.sum": "sum", "numpy.max": "maximum", "numpy.min": "minimum", "numpy.std": "standard deviation",
    "numpy.var": "variance", "numpy.nanmean": "mean ignoring NaN", "numpy.nanmedian": "median ignoring NaN",
    # pandas (each *_new_* takes a class, a global of the same pickle, and calls its constructors)
    "pandas._libs.internals._unpickle_block": "Block from values, placement, ndim",
    "pandas._libs.tslibs.timestamps._unpickle_timestamp": "Timestamp from an int, freq, tz, unit",
    "pandas._libs.tslibs.timedeltas._timedelta_unpickle": "Timedelta from an int and a unit",
    "pandas._libs.tslibs.nattype._nat_unpickle": "returns NaT",
    "pandas.core.indexes.base._new_Index": "cls.__new__(cls, **data)",
    "pandas.core.indexes.period._new_PeriodIndex": "PeriodArray from ints and freq, cls._simple_new",
    "pandas.core.indexes.datetimes._new_DatetimeIndex": "DatetimeArray._simple_new, cls._simple_new",
    "pandas.core.indexes.interval._new_IntervalIndex": "cls.from_arrays(**data)",
    "pandas.core.indexes.timedeltas._new_TimedeltaIndex": "TimedeltaArray._simple_new, cls._simple_new",
    # pyarrow, as pandas 3 pickles its default string columns
    "pyarrow.lib._restore_array": "Array from (type, length, null count, offset, buffers, children, dictionary)",
    "pyarrow.lib.py_buffer": "wraps bytes in a Buffer", "pyarrow.lib.type_for_alias": "DataType by name ('string')",
    "pyarrow.lib.timestamp": "a timestamp DataType", "pyarrow.lib.list_": "a list DataType",
    "pyarrow.lib.dictionary": "a dictionary DataType", "pyarrow.lib.field": "a Field",
    # scipy
    "scipy._lib.array_api_compat.numpy._aliases.asarray": "numpy.asarray (SplineTransformer keeps it)",
    # scikit-learn
    "sklearn.cluster._kmeans._kmeans_single_lloyd": "one k-means run on arrays (BisectingKMeans keeps it)",
    "sklearn.feature_selection.chi2": "a statistic over arrays", "sklearn.feature_selection.f_classif": "ANOVA F",
    "sklearn.feature_selection.f_regression": "F statistic", "sklearn.feature_selection.f_oneway": "ANOVA F",
    "sklearn.feature_selection.r_regression": "Pearson r",
    "sklearn.feature_selection.mutual_info_classif": "mutual information",
    "sklearn.feature_selection.mutual_info_regression": "mutual information",
    "sklearn.metrics.fbeta_score": "a metric over arrays",
    "sklearn.metrics._dist_metrics.newObj": "Cython: cls.__new__(cls) of a class that is a global itself",
    "sklearn.neighbors._ball_tree.newObj": "Cython: cls.__new__(cls) of a class that is a global itself",
    "sklearn.neighbors._kd_tree.newObj": "Cython: cls.__new__(cls) of a class that is a global itself",
    # stdlib
    "re._compile": "compiles a regular expression (what re.compile pickles as)",
    "logging.getLogger": "returns the named logger (what a pickled Logger is)",
    "array._array_reconstructor": "array from a typecode and bytes",
    "zoneinfo.ZoneInfo._unpickle": "ZoneInfo by key, from the tz database (never a path)",
}

#: pickling hooks written in Python (``module.Class.__hook__`` of the function), read one by one:
#: what each does with the pickled arguments and state
REVIEWED_STATE = {
    # scikit-learn
    "sklearn.base.BaseEstimator.__setstate__": "pops _sklearn_version (warns on a mismatch), updates __dict__",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor.__setstate__": "updates __dict__, casts a dtype",
    "sklearn.isotonic.IsotonicRegression.__setstate__": "rebuilds the interpolation function from fitted arrays",
    "sklearn.utils._bunch.Bunch.__setstate__": "ignores the pickled __dict__",
    "sklearn.utils.deprecation.deprecated._decorate_class.<locals>.wrapped": "warns, then the original __new__",
    "namedtuple__ImputerTriplet._ImputerTriplet.__new__": "namedtuple __new__ (sklearn.impute._iterative)",
    # pandas
    "pandas.core.generic.NDFrame.__setstate__": "sets _mgr, attrs, flags and known metadata names",
    "pandas.core.internals.managers.SingleBlockManager.__setstate__": "rebuilds blocks from arrays",
    "pandas.core.indexes.base.Index.__reduce__": "_new_Index(type, data dict)",
    "pandas.core.indexes.base.Index.__new__": "builds an Index from data",
    "pandas.core.indexes.range.RangeIndex.__reduce__": "_new_Index(type, start/stop/step)",
    "pandas.core.indexes.range.RangeIndex.__new__": "range bounds",
    "pandas.core.indexes.multi.MultiIndex.__reduce__": "_new_Index(type, levels and codes)",
    "pandas.core.indexes.multi.MultiIndex.__new__": "levels and codes",
    "pandas.core.indexes.datetimes.DatetimeIndex.__reduce__": "_new_DatetimeIndex(type, data)",
    "pandas.core.indexes.datetimes.DatetimeIndex.__new__": "builds from data",
    "pandas.core.indexes.timedeltas.TimedeltaIndex.__reduce__": "_new_Index(type, data)",
    "pandas.core.indexes.timedeltas.TimedeltaIndex.__new__": "builds from data",
    "pandas.core.indexes.period.PeriodIndex.__new__": "builds from data",
    "pandas.core.indexes.interval.IntervalIndex.__reduce__": "_new_IntervalIndex(type, data)",
    "pandas.core.indexes.interval.IntervalIndex.__new__": "builds from data",
    "pandas.core.indexes.category.CategoricalIndex.__new__": "builds from data",
    "pandas.core.arrays.interval.IntervalArray.__new__": "builds from data",
    "pandas.core.arrays.arrow.array.ArrowExtensionArray.__setstate__": "pa.chunked_array(data), updates __dict__",
    "pandas.core.arrays.categorical.Categorical.__setstate__": "codes, categories, ordered",
    "pandas.core.arrays.sparse.array.SparseArray.__setstate__": "values, index, fill value",
    "pandas.core.dtypes.dtypes.IntervalDtype.__setstate__": "subtype and closed",
    "pandas.core.dtypes.dtypes.DatetimeTZDtype.__setstate__": "tz and unit",
    "pandas.core.dtypes.dtypes.CategoricalDtype.__setstate__": "categories and ordered",
    "pandas.core.dtypes.dtypes.PeriodDtype.__reduce__": "(type, (freq name,))",
    "pandas.core.dtypes.dtypes.PeriodDtype.__new__": "parses a frequency name",
    "pandas.core.arrays.string_.StringDtype.__setstate__": "storage and na_value",
    "pandas.core.arrays.string_.StringDtype.__reduce__": "(StringDtype, (storage, na_value))",
    "pandas.core.groupby.grouper.Grouper.__new__": "picks TimeGrouper when a freq is given",
    # numpy
    "numpy.ma.core.MaskedArray.__setstate__": "data, mask, fill value",
    "numpy.ma.core.MaskedArray.__reduce__": "_mareconstruct(class, base class, shape, dtype)",
    "numpy.ma.core.MaskedArray.__new__": "builds from data and mask",
    "numpy.matrixlib.defmatrix.matrix.__new__": "builds from data",
    "numpy._core.records.recarray.__new__": "builds from shape and dtype",
    "numpy._core.getlimits.finfo.__new__": "machine limits of a float dtype (cached)",
    "numpy.polynomial._polybase.ABCPolyBase.__setstate__": "sets __dict__",
    # scipy
    "scipy.sparse._coo.coo_matrix.__setstate__": "coordinates, updates __dict__",
    "scipy.sparse._dok._dok_base.__reduce__": "dict.__reduce__",
    # stdlib
    "random.Random.__setstate__": "setstate(): validates the Mersenne Twister state",
    "random.Random.__reduce__": "(class, (), state)",
    "ipaddress._IPAddressBase.__reduce__": "(class, (str(self),))",
    "ipaddress._BaseAddress.__reduce__": "(class, (int(self),))",
    "ipaddress.IPv6Address.__reduce__": "(class, (str(self),))",
    "statistics.NormalDist.__setstate__": "mu and sigma",
    "enum.Enum.__reduce_ex__": "(class, (value,)): a look-up, never a call",
    "enum.Enum.__new__": "looks a member up by value",
}


# -- corpus -------------------------------------------------------------------------------------

def corpus_numpy():
    import numpy as np

    kinds = ["?", "b", "B", "h", "H", "i", "I", "l", "L", "q", "Q", "e", "f", "d", "g", "F", "D", "G", "U5", "S5",
             "M8[ns]", "M8[D]", "m8[s]", "V4", "O"]
    for k in kinds:
        yield f"array {k}", np.zeros(3, dtype=k)
        yield f"scalar {k}", np.zeros(1, dtype=k)[0]
        yield f"dtype {k}", np.dtype(k)
    yield "structured", np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8", (2,)), ("c", "U3"), ("d", [("e", "O")])])
    yield "dtype metadata", np.dtype("f8", metadata={"unit": "m"})
    yield "0-d", np.array(3.5)
    yield "fortran", np.asfortranarray(np.ones((2, 3)))
    yield "big endian", np.arange(4, dtype=">i8")
    yield "masked", np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0], fill_value=-1)
    yield "masked structured", np.ma.masked_array(np.zeros(2, dtype=[("a", "i4")]))
    yield "matrix", np.matrix([[1, 2], [3, 4]])
    yield "recarray", np.rec.array([(1, 2.0, "x")], dtype=[("a", "i4"), ("b", "f8"), ("c", "U2")])
    yield "record", np.rec.array([(1, 2.0)])[0]
    yield "stringdtype", np.array(["a", "bc"], dtype=np.dtypes.StringDType())
    yield "stringdtype na", np.array(["a", None], dtype=np.dtypes.StringDType(na_object=None))
    yield "poly1d", np.poly1d([1, 2, 3])
    yield "polynomial", np.polynomial.Polynomial([1, 2, 3])
    yield "chebyshev", np.polynomial.Chebyshev([1, 2])
    for bitgen in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"):
        yield f"generator {bitgen}", np.random.Generator(getattr(np.random, bitgen)(1))
    yield "random state", np.random.RandomState(3)
    yield "seed sequence", np.random.SeedSequence(5)
    yield "ufuncs", [np.log1p, np.expm1, np.exp, np.log, np.sqrt, np.square, np.abs, np.add]
    yield "dtype classes", [np.float64, np.float32, np.int64, np.int32, np.bool_, np.str_, np.object_, np.uint8,
                            np.complex128, np.datetime64, np.timedelta64, np.float16, np.int8, np.int16, np.uint16,
                            np.uint32, np.uint64, np.longdouble, np.bytes_, np.void, np.intp]
    yield "finfo", np.finfo(np.float32)
    yield "iinfo", np.iinfo(np.int16)
    yield "errstate dict", np.geterr()


def corpus_pandas():
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    idx = {
        "range": pd.RangeIndex(3), "int": pd.Index([1, 5, 7]), "float": pd.Index([1.5, 2.5, 3.5]),
        "str": pd.Index(["a", "b", "c"]), "object": pd.Index(["a", 1, None], dtype=object),
        "datetime": pd.date_range("2024-01-01", periods=3), "datetime tz": pd.date_range("2024", periods=3, tz="UTC"),
        "datetime tz name": pd.date_range("2024", periods=3, tz="Europe/Paris"),
        "timedelta": pd.timedelta_range("1D", periods=3), "period": pd.period_range("2024-01", periods=3, freq="M"),
        "interval": pd.interval_range(0, 3), "categorical": pd.CategoricalIndex(["a", "b", "a"]),
        "multi": pd.MultiIndex.from_product([[1, 2], ["x", "y"]])[:3], "bool": pd.Index([True, False, True]),
        "nullable": pd.Index([1, None, 3], dtype="Int64"),
    }
    for name, index in idx.items():
        yield f"index {name}", index
        yield f"frame indexed {name}", pd.DataFrame({"v": range(len(index))}, index=index)
    columns = {
        "int": [1, 2, 3], "float": [1.5, None, 3.0], "bool": [True, False, True], "str": ["a", "b", None],
        "object": ["a", 1, None], "category": pd.Categorical(["a", "b", "a"]),
        "ordered category": pd.Categorical(["lo", "hi", "lo"], categories=["lo", "hi"], ordered=True),
        "datetime": pd.to_datetime(["2024-01-01", "2024-01-02", None]),
        "datetime tz": pd.date_range("2024", periods=3, tz="America/New_York"),
        "datetime us": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]).as_unit("us"),
        "timedelta": pd.to_timedelta([1, 2, 3], unit="s"), "period": pd.period_range("2024Q1", periods=3, freq="Q"),
        "interval": pd.arrays.IntervalArray.from_breaks([0, 1, 2, 3]),
        "Int64": pd.array([1, None, 3], dtype="Int64"), "UInt8": pd.array([1, 2, None], dtype="UInt8"),
        "Float64": pd.array([1.0, None, 3.0], dtype="Float64"), "boolean": pd.array([True, None, False], dtype="boolean"),
        "string python": pd.array(["a", None, "c"], dtype=pd.StringDtype("python")),
        "string pyarrow": pd.array(["a", None, "c"], dtype=pd.StringDtype("pyarrow")),
        "string nan": pd.array(["a", None, "c"], dtype="str"),
        "sparse": pd.arrays.SparseArray([0, 0, 1]), "sparse float": pd.arrays.SparseArray([0.0, np.nan, 2.0]),
        "sparse block": pd.arrays.SparseArray([0, 1, 1], kind="block"),
        "arrow int": pd.array([1, 2, None], dtype=pd.ArrowDtype(pa.int64())),
        "arrow string": pd.array(["x", None, "z"], dtype=pd.ArrowDtype(pa.string())),
        "arrow large string": pd.array(["x", "y", "z"], dtype=pd.ArrowDtype(pa.large_string())),
        "arrow timestamp": pd.array(pd.date_range("2024", periods=3), dtype=pd.ArrowDtype(pa.timestamp("ns"))),
        "arrow bool": pd.array([True, None, False], dtype=pd.ArrowDtype(pa.bool_())),
        "arrow double": pd.array([1.0, None, 2.0], dtype=pd.ArrowDtype(pa.float64())),
        "arrow list": pd.array([[1], [2, 3], None], dtype=pd.ArrowDtype(pa.list_(pa.int64()))),
        "arrow dictionary": pd.array(["a", "b", "a"], dtype=pd.ArrowDtype(pa.dictionary(pa.int32(), pa.string()))),
        "complex": [1 + 2j, 3j, 0j], "uint": np.array([1, 2, 3], dtype=np.uint16), "float32": np.ones(3, "f4"),
        "numpy str": np.array(["a", "b", "c"], dtype=object),
    }
    for name, col in columns.items():
        yield f"series {name}", pd.Series(col, name=name)
        yield f"array {name}", pd.array(col) if not isinstance(col, list) else pd.array(col, dtype=object)
    frame = pd.DataFrame({k: v for k, v in columns.items()})
    yield "frame all dtypes", frame
    frame.attrs["source"] = "unit test"
    frame.flags.allows_duplicate_labels = False
    yield "frame attrs flags", frame
    yield "frame multiindex columns", pd.DataFrame(np.ones((2, 4)), columns=pd.MultiIndex.from_product([["a", "b"], [1, 2]]))
    yield "frame groupby mean", frame[["int", "float", "str"]].groupby("str", dropna=False).mean()
    yield "pivot", pd.DataFrame({"a": ["x", "y"], "b": ["u", "v"], "c": [1, 2]}).pivot_table(index="a", columns="b", values="c")
    yield "scalars", [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01", tz="UTC"),
                      pd.Timestamp("2024-01-01 12:00", tz="Europe/Paris"), pd.Timedelta("1D"), pd.Period("2024-01", "M"),
                      pd.Interval(0, 1, closed="left"), pd.NaT, pd.NA]
    offsets = pd.offsets
    yield "offsets", [offsets.Day(2), offsets.Hour(), offsets.Minute(), offsets.BusinessDay(), offsets.MonthEnd(),
                      offsets.MonthBegin(), offsets.QuarterEnd(startingMonth=3), offsets.YearEnd(), offsets.YearBegin(),
                      offsets.Week(weekday=0), offsets.DateOffset(months=1), offsets.BusinessMonthEnd(),
                      offsets.CustomBusinessDay(weekmask="Mon Tue"), offsets.Second(), offsets.Milli(), offsets.Nano(),
                      offsets.BQuarterEnd(), offsets.Easter(), offsets.FY5253(weekday=0, startingMonth=1),
                      offsets.SemiMonthEnd(), offsets.WeekOfMonth(week=1, weekday=2), offsets.LastWeekOfMonth()]
    yield "dtypes", [pd.CategoricalDtype(["a"]), pd.DatetimeTZDtype(tz="UTC"), pd.PeriodDtype("D"),
                     pd.IntervalDtype("int64"), pd.SparseDtype("float64"), pd.Int64Dtype(), pd.Float32Dtype(),
                     pd.BooleanDtype(), pd.StringDtype(), pd.ArrowDtype(pa.int32())]
    yield "dict of frames", {"train": frame.head(2), "test": frame.tail(1)}
    small = pd.DataFrame({"k": ["a", "b", "a"], "v": [1, 2, 3], "t": pd.date_range("2024", periods=3)})
    yield "groupby objects", [small.groupby("k"), small["v"].groupby(small["k"]), small.groupby(pd.Grouper(key="t", freq="D"))]
    yield "groupers", [pd.Grouper(key="k"), pd.Grouper(key="t", freq="W")]
    yield "resampled", small.set_index("t")["v"].resample("D").sum()


def corpus_scipy():
    import numpy as np
    import scipy.sparse as sp

    m = np.array([[0, 1.0], [2.0, 0]])
    for fmt in ("csr", "csc", "coo", "lil", "dok", "dia", "bsr"):
        yield f"{fmt} matrix", getattr(sp, f"{fmt}_matrix")(m)
        yield f"{fmt} array", getattr(sp, f"{fmt}_array")(m)
    yield "identity", sp.identity(3, format="csr")


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for args in ((X, y), (X,)):
            try:
                return est.fit(*args)
            except Exception:
                continue
    return est  # an unfitted estimator pickles too


def corpus_sklearn():
    import numpy as np
    from sklearn.utils import all_estimators
    from sklearn.utils._test_common.instance_generator import _construct_instances

    rng = np.random.RandomState(0)
    X = np.abs(rng.rand(40, 4)) + 0.1
    y = np.array([0, 1] * 20)
    for name, cls in all_estimators():
        try:
            instances = list(_construct_instances(cls))
        except Exception:
            instances = []
        for est in instances:
            yield f"estimator {name} unfitted", est
            yield f"estimator {name}", _fit(est, X, y)
    yield from _sklearn_workflows(X, y)


def _sklearn_workflows(X, y):
    import numpy as np
    import pandas as pd
    from sklearn import (cluster, compose, decomposition, ensemble, feature_extraction, feature_selection, impute,
                         linear_model, metrics, model_selection, neighbors, pipeline, preprocessing, svm, tree)
    from sklearn.experimental import enable_halving_search_cv, enable_iterative_imputer  # noqa: F401
    from sklearn.inspection import permutation_importance

    frame = pd.DataFrame({"num": X[:, 0], "num2": X[:, 1], "cat": ["a", "b"] * 20, "txt": ["red apple", "green pear"] * 20})
    ct = compose.ColumnTransformer([
        ("num", pipeline.make_pipeline(impute.SimpleImputer(), preprocessing.StandardScaler()), ["num", "num2"]),
        ("cat", preprocessing.OneHotEncoder(handle_unknown="ignore"), compose.make_column_selector(dtype_include=object)),
    ], remainder="drop")
    yield "column transformer pipeline", pipeline.Pipeline([("pre", ct.set_params(cat=preprocessing.OneHotEncoder(
        handle_unknown="ignore"))), ("clf", linear_model.LogisticRegression())]).fit(frame[["num", "num2", "cat"]], y)
    yield "column transformer selector", compose.ColumnTransformer(
        [("c", preprocessing.OrdinalEncoder(), compose.make_column_selector(dtype_include=object))]).fit(frame[["cat"]])
    yield "function transformer", preprocessing.FunctionTransformer(np.log1p, inverse_func=np.expm1).fit(X)
    yield "transformed target", compose.TransformedTargetRegressor(regressor=linear_model.Ridge(), func=np.log,
                                                                 inverse_func=np.exp).fit(X, X[:, 0])
    yield "feature union", pipeline.FeatureUnion([("pca", decomposition.PCA(2)), ("kb", feature_selection.SelectKBest(k=1))]).fit(X, y)
    yield "select k best", feature_selection.SelectKBest(feature_selection.f_classif, k=2).fit(X, y)
    yield "select mutual info", feature_selection.SelectKBest(feature_selection.mutual_info_classif, k=2).fit(X, y)
    yield "select chi2", feature_selection.SelectPercentile(feature_selection.chi2).fit(X, y)
    yield "select f_regression", feature_selection.SelectKBest(feature_selection.f_regression, k=2).fit(X, X[:, 0])
    yield "select regression scores", [feature_selection.SelectKBest(f, k=2).fit(X, X[:, 0]) for f in (
        feature_selection.r_regression, feature_selection.mutual_info_regression)]
    yield "select f_oneway", feature_selection.SelectKBest(feature_selection.f_oneway, k=2).fit(X, y)
    yield "tfidf", feature_extraction.text.TfidfVectorizer().fit(frame["txt"])
    yield "count", feature_extraction.text.CountVectorizer(ngram_range=(1, 2)).fit(frame["txt"])
    yield "hashing", feature_extraction.text.HashingVectorizer(n_features=16)
    yield "dict vectorizer", feature_extraction.DictVectorizer().fit([{"a": 1, "b": "x"}])
    for scoring in (None, "accuracy", "f1", "roc_auc", "neg_log_loss", "balanced_accuracy", "precision", "recall"):
        yield f"grid search {scoring}", model_selection.GridSearchCV(
            linear_model.LogisticRegression(), {"C": [0.1, 1.0]}, cv=2, scoring=scoring).fit(X, y)
    yield "grid multi scoring", model_selection.GridSearchCV(
        tree.DecisionTreeClassifier(), {"max_depth": [1, 2]}, cv=2, scoring=["accuracy", "f1"], refit="f1").fit(X, y)
    yield "grid regression", model_selection.GridSearchCV(
        linear_model.Ridge(), {"alpha": [0.1, 1.0]}, cv=2, scoring="neg_mean_squared_error").fit(X, X[:, 0])
    yield "grid r2 and mae", model_selection.GridSearchCV(
        linear_model.Ridge(), {"alpha": [0.1]}, cv=2, scoring=["r2", "neg_mean_absolute_error"], refit="r2").fit(X, X[:, 0])
    yield "randomized search", model_selection.RandomizedSearchCV(
        svm.SVC(), {"C": [0.1, 1.0, 10.0]}, n_iter=2, cv=2, random_state=0).fit(X, y)
    yield "halving search", model_selection.HalvingGridSearchCV(
        tree.DecisionTreeClassifier(), {"max_depth": [1, 2]}, cv=2, min_resources=20).fit(X, y)
    yield "make_scorer", metrics.make_scorer(metrics.fbeta_score, beta=2)
    yield "scorers", [metrics.get_scorer(name) for name in metrics.get_scorer_names()]
    yield "cross_validate", model_selection.cross_validate(linear_model.LogisticRegression(), X, y, cv=2,
                                                             return_estimator=True)
    yield "cv splitters", [model_selection.KFold(3, shuffle=True, random_state=1), model_selection.StratifiedKFold(2),
                           model_selection.GroupKFold(2), model_selection.TimeSeriesSplit(2),
                           model_selection.ShuffleSplit(2), model_selection.StratifiedShuffleSplit(2),
                           model_selection.RepeatedStratifiedKFold(), model_selection.LeaveOneOut(),
                           model_selection.PredefinedSplit([0, 1]), model_selection.RepeatedKFold()]
    yield "permutation importance", permutation_importance(linear_model.LogisticRegression().fit(X, y), X, y, n_repeats=2)
    yield "classification report", metrics.classification_report(y, y, output_dict=True)
    yield "confusion matrix", metrics.confusion_matrix(y, y)
    yield "roc curve", metrics.roc_curve(y, X[:, 0])
    yield "learning curve", model_selection.learning_curve(linear_model.LogisticRegression(), X, y, cv=2,
                                                           train_sizes=[0.5, 1.0])
    yield "iterative imputer", impute.IterativeImputer(max_iter=2).fit(X)
    yield "knn imputer", impute.KNNImputer().fit(X)
    yield "nearest neighbours trees", [neighbors.NearestNeighbors(algorithm=a).fit(X) for a in ("kd_tree", "ball_tree", "brute")]
    yield "kd tree", neighbors.KDTree(X)
    yield "ball tree", neighbors.BallTree(X, metric="manhattan")
    yield "knn metrics", [neighbors.KNeighborsClassifier(metric=m, algorithm="ball_tree").fit(X, y)
                          for m in ("minkowski", "manhattan", "chebyshev", "euclidean", "haversine")[:4]]
    yield "gradient boosting losses", [ensemble.GradientBoostingClassifier(n_estimators=2).fit(X, y)] + [
        ensemble.GradientBoostingRegressor(n_estimators=2, loss=loss).fit(X, X[:, 0])
        for loss in ("squared_error", "absolute_error", "huber", "quantile")]
    yield "hist gradient boosting", [ensemble.HistGradientBoostingClassifier(max_iter=2).fit(X, y),
                                     ensemble.HistGradientBoostingRegressor(max_iter=2, loss="poisson").fit(X, X[:, 0]),
                                     ensemble.HistGradientBoostingClassifier(max_iter=2).fit(X, np.arange(40) % 3)]
    yield "sgd losses", [linear_model.SGDClassifier(loss=loss).fit(X, y) for loss in
                         ("hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron")]
    yield "sgd regression losses", [linear_model.SGDRegressor(loss=loss).fit(X, X[:, 0]) for loss in
                                    ("squared_error", "huber", "epsilon_insensitive")]
    yield "glm", [linear_model.PoissonRegressor().fit(X, X[:, 0]), linear_model.GammaRegressor().fit(X, X[:, 0]),
                  linear_model.TweedieRegressor(power=1.5).fit(X, X[:, 0])]
    yield "kmeans", cluster.KMeans(2, n_init=1).fit(X)
    yield "label encoders", [preprocessing.LabelEncoder().fit(["a", "b"]), preprocessing.LabelBinarizer().fit(y),
                             preprocessing.MultiLabelBinarizer().fit([["a"], ["b", "c"]])]
    yield "encoders frame", [preprocessing.OneHotEncoder(sparse_output=False).fit(frame[["cat"]]),
                             preprocessing.OrdinalEncoder().fit(frame[["cat"]]),
                             preprocessing.TargetEncoder().fit(frame[["cat"]], y)]
    yield "set_output pandas", preprocessing.StandardScaler().set_output(transform="pandas").fit(frame[["num"]])
    yield "spline", preprocessing.SplineTransformer().fit(X)
    yield "dataset bunch", __import__("sklearn.datasets", fromlist=["load_iris"]).load_iris()
    yield "dataset bunch frame", __import__("sklearn.datasets", fromlist=["load_iris"]).load_iris(as_frame=True)


def corpus_collections():
    # no namedtuple: an instance pickles as its own class (myproject.Point), a user class no profile lists
    yield "deque", collections.deque([1, 2, 3], maxlen=10)
    yield "deque unbounded", collections.deque("abc")
    yield "ordered dict", collections.OrderedDict(a=1, b=2)
    yield "defaultdict", collections.defaultdict(int, {"a": 1})
    yield "defaultdict list", collections.defaultdict(list)
    yield "counter", collections.Counter("abracadabra")
    yield "chain map", collections.ChainMap({"a": 1}, {"b": 2})
    yield "user dict", collections.UserDict(a=1)
    yield "user list", collections.UserList([1, 2])
    yield "user string", collections.UserString("abc")


def corpus_stdlib():
    import array
    import logging
    import statistics
    import string
    import time
    import zoneinfo

    yield "datetime", [datetime.datetime(2024, 1, 2, 3, 4, 5, 6), datetime.date(2024, 1, 1), datetime.time(1, 2),
                       datetime.timedelta(days=1, seconds=3), datetime.timezone.utc,
                       datetime.timezone(datetime.timedelta(hours=2), "X"),
                       datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)]
    yield "zoneinfo", [zoneinfo.ZoneInfo("Europe/Paris"), datetime.datetime(2024, 1, 1, tzinfo=zoneinfo.ZoneInfo("UTC"))]
    every_signal = [decimal.Clamped, decimal.DivisionByZero, decimal.Inexact, decimal.InvalidOperation,
                    decimal.Overflow, decimal.Rounded, decimal.Subnormal, decimal.Underflow, decimal.FloatOperation]
    yield "decimal", [decimal.Decimal("1.10"), decimal.Decimal("NaN"), decimal.Context(prec=5),
                      decimal.getcontext().copy(), decimal.Context(traps=every_signal, flags=every_signal)]
    yield "fraction", fractions.Fraction(3, 7)
    yield "regex", [re.compile(r"\d+"), re.compile(rb"\x00+", re.DOTALL), re.compile("a", re.I | re.M | re.X),
                    re.compile("(?P<name>x)", re.ASCII), re.I, re.IGNORECASE | re.MULTILINE, re.NOFLAG]
    r = random.Random(42)
    r.random()
    yield "random", [r, random.Random()]
    yield "uuid", [uuid.uuid4(), uuid.UUID(int=3)]
    yield "paths", [Path("/data/x"), Path("rel/y")]
    yield "ipaddress", [ipaddress.ip_address("10.0.0.1"), ipaddress.ip_address("::1"), ipaddress.ip_network("10.0.0.0/8"),
                        ipaddress.ip_network("fe80::/64"), ipaddress.ip_interface("10.0.0.1/24"),
                        ipaddress.ip_interface("::1/128")]
    yield "array", [array.array("d", [1.0, 2.0]), array.array("u", "ab"), array.array("b", [1])]
    yield "struct_time", time.gmtime(0)
    yield "normal dist", statistics.NormalDist(1.0, 2.0)
    yield "template", string.Template("$x")
    yield "simple namespace", types.SimpleNamespace(a=1)
    yield "logger", [logging.getLogger("guard.test"), logging.getLogger()]
    yield "stdlib enums", [re.RegexFlag.IGNORECASE]  # a user enum pickles as its own class, like a namedtuple


CORPORA = {"numpy": corpus_numpy, "pandas": corpus_pandas, "scipy": corpus_scipy, "sklearn": corpus_sklearn,
           "collections": corpus_collections, "stdlib-data": corpus_stdlib}


# -- collection ---------------------------------------------------------------------------------

def serialisations(obj):
    """The bytes of ``obj`` under every pickle protocol and joblib (those that work)."""
    import joblib

    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        try:
            yield pickle.dumps(obj, protocol=proto)
        except Exception:
            pass
    for compress in (0, 3):
        buf = io.BytesIO()
        try:
            joblib.dump(obj, buf, compress=compress)
        except Exception:
            continue
        yield buf.getvalue()


def observed(corpus_names):
    """``{(module, name): first label}`` for every global outside the base allowlist (attribute
    walks included: ``getattr(ZoneInfo, "_unpickle")`` is listed as ``zoneinfo.ZoneInfo._unpickle``)."""
    seen = {}
    scanner = Scanner()
    for cname in corpus_names:
        for label, obj in CORPORA[cname]():
            for blob in serialisations(obj):
                report = scanner.scan_bytes(blob)
                if report.problems:
                    raise SystemExit(f"{cname}: {label}: the scanner reports {report.problems}")
                for h in report.hits:
                    seen.setdefault((h.module, h.name), f"{cname}: {label}")
    return seen


def resolve(module, name):
    """The object ``module.name`` names (attribute walks included), or raise."""
    import importlib

    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def seeds():
    """Pairs accepted without a corpus object: whole families whose members only compute."""
    import numpy as np
    import pandas as pd
    import scipy.special
    from sklearn.utils import all_estimators

    from guardpolicy.scan.allowlist import is_safe

    out = {}
    # every scikit-learn estimator: by contract (and sklearn's own common tests) __init__ only stores params
    for name, cls in all_estimators():
        out[(cls.__module__, cls.__qualname__)] = f"sklearn: estimator {name}"
    # Gaussian-process kernels and cross-validation splitters: parameters only, like estimators
    from sklearn.gaussian_process import kernels
    from sklearn.model_selection import _split

    for mod, base in ((kernels, kernels.Kernel), (_split, (_split.BaseCrossValidator, _split.BaseShuffleSplit))):
        for name, value in vars(mod).items():
            if isinstance(value, type) and issubclass(value, base) and value.__module__ == mod.__name__:
                out[(value.__module__, value.__name__)] = f"sklearn: {mod.__name__}"
    # ufuncs compute element-wise maths (FunctionTransformer(np.log1p), scipy.special.expit)
    for mod in (np, scipy.special):
        for name, value in vars(mod).items():
            if isinstance(value, np.ufunc) and not name.startswith("_"):
                out[(mod.__name__, name)] = "ufunc"
    # scalar types (sklearn estimators keep dtype=np.float64 as a parameter)
    for scalar in set(np.sctypeDict.values()):
        out[(scalar.__module__, scalar.__name__)] = "numpy scalar type"
    # date offsets (frequencies of indexes and periods)
    for name in dir(pd.offsets):
        value = getattr(pd.offsets, name)
        if isinstance(value, type) and issubclass(value, pd.offsets.BaseOffset):
            out[(value.__module__, value.__name__)] = "pandas date offset"
    # extension dtypes (Int8Dtype ... Float64Dtype, StringDtype): a dtype name and a few options
    for name, value in vars(pd).items():
        if isinstance(value, type) and issubclass(value, pd.api.extensions.ExtensionDtype):
            out[(value.__module__, value.__name__)] = "pandas extension dtype"
    for full in REVIEWED_CALLABLES:
        module, _, name = full.rpartition(".")
        if "." in module and module.rsplit(".", 1)[1][:1].isupper():  # Class.method
            module, cls = module.rsplit(".", 1)
            name = f"{cls}.{name}"
        if not is_safe(module, name):
            out[(module, name)] = "reviewed callable"
    return out


def excluded(module, name):
    full = f"{module}.{name}"
    for key, why in EXCLUDED.items():
        if full == key or module == key or module.startswith(key + "."):
            return why
    return None


def defining_module(obj):
    """Where ``obj`` is really defined: pandas and others rewrite a public class's ``__module__``
    (the path older versions pickled is the real one): the module whose source says ``class Name``."""
    home = getattr(obj, "__module__", None)
    if not isinstance(obj, type) or not isinstance(home, str):
        return home
    pattern = re.compile(rf"^class {re.escape(obj.__name__)}\b", re.M)
    for modname, mod in list(sys.modules.items()):
        if mod is None or modname.split(".", 1)[0] != home.split(".", 1)[0] or vars(mod).get(obj.__name__) is not obj:
            continue
        path = getattr(mod, "__file__", None) or ""
        if path.endswith(".py"):
            try:
                if pattern.search(Path(path).read_text(encoding="utf-8")):
                    return modname
            except OSError:
                continue
    return home


def _public(module):
    """``numpy``, ``pandas.arrays``, ``sklearn.linear_model``: a documented import path."""
    parts = module.split(".")
    return len(parts) <= 2 and not any(p.startswith("_") for p in parts)


def aliases(pairs):
    """Other ``(module, name)`` pairs binding the very same objects: the defining module, and the
    public packages above it (``pandas`` for ``pandas.core.frame``); older versions pickled those."""
    wanted = {}
    for module, name in pairs:
        if "." in name:
            continue
        try:
            obj = resolve(module, name)
        except Exception:
            continue
        wanted.setdefault(id(obj), (obj, module, name))
    tops = {m.split(".", 1)[0] for m, _ in pairs}
    out = set()
    for modname, mod in list(sys.modules.items()):
        if mod is None or modname.split(".", 1)[0] not in tops or ".tests" in modname or modname.endswith(".conftest"):
            continue
        try:
            items = list(vars(mod).items())
        except TypeError:
            continue
        for attr, value in items:
            entry = wanted.get(id(value))
            if entry is None or attr.startswith("__") or (modname, attr) == entry[1:]:
                continue
            home = defining_module(value) or ""
            if attr == getattr(value, "__name__", None) and (
                    modname == home or (_public(modname) and home.startswith(modname + "."))):
                out.add((modname, attr))
    return out


def profile_of(module):
    top = module.split(".", 1)[0]
    if top in PROFILE_OF_TOP:
        return PROFILE_OF_TOP[top]
    if top in STDLIB_DATA:
        return "stdlib-data"
    return None


def _python_hooks(cls):
    """The pickling hooks (``__setstate__``, ``__reduce__``, ``__new__``...) ``cls`` gets from Python code,
    as ``module.Class.__hook__`` of the function itself (C and Cython hooks restore typed fields)."""
    out = []
    for hook in ("__setstate__", "__reduce__", "__reduce_ex__", "__new__"):
        for base in cls.__mro__:
            if hook not in base.__dict__:
                continue
            fn = base.__dict__[hook]
            fn = getattr(fn, "__func__", fn)
            if inspect.isfunction(fn):
                out.append(f"{fn.__module__}.{fn.__qualname__}")
            break
    return out


def _key(obj):
    """Identity of a callable; a bound method (a new object on each look-up) by function and owner."""
    if inspect.ismethod(obj):
        return id(obj.__func__), id(obj.__self__)
    owner = getattr(obj, "__self__", None)
    if inspect.isbuiltin(obj) and isinstance(owner, type):  # a C classmethod, bound anew on each look-up
        return id(owner), obj.__name__
    return id(obj)


def _reviewed_ids():
    """``_key`` of every object in ``REVIEWED_CALLABLES`` (any path to it counts)."""
    out = set()
    for full in REVIEWED_CALLABLES:
        parts = full.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            try:
                out.add(_key(resolve(".".join(parts[:cut]), ".".join(parts[cut:]))))
                break
            except Exception:
                continue
    return out


def _scorer_ids():
    """``id()`` of every score function behind scikit-learn's named scorers (metrics: pure computations)."""
    out = set()
    from sklearn import metrics

    for scorer_name in metrics.get_scorer_names():
        fn = getattr(metrics.get_scorer(scorer_name), "_score_func", None)
        if fn is not None:
            out.add(_key(fn))
    return out


def review(pairs):
    """Problems that stop the script: unread callables and pickling hooks."""
    import numpy as np

    accepted = _reviewed_ids() | _scorer_ids()
    problems = []
    for module, name in sorted(pairs):
        full = f"{module}.{name}"
        try:
            obj = resolve(module, name)
        except Exception as exc:
            problems.append(f"{full}: cannot be resolved ({exc})")
            continue
        if isinstance(obj, type):
            for hook in _python_hooks(obj):
                if hook not in REVIEWED_STATE:
                    problems.append(f"{full}: pickling hook {hook} not in REVIEWED_STATE")
        elif callable(obj) and not isinstance(obj, np.ufunc) and _key(obj) not in accepted \
                and not name.startswith("__pyx_unpickle_"):
            # __pyx_unpickle_X(type, checksum, state): Cython-generated, checks the checksum, then
            # X.__new__(type) (a subtype check) and a typed field-by-field restore
            problems.append(f"{full}: a callable that is not a class, not in REVIEWED_CALLABLES")
    return problems


def build():
    seen = observed(list(CORPORA))
    candidates = dict(seen)
    for pair, label in seeds().items():
        candidates.setdefault(pair, label)
    dropped = {}
    kept = {}
    for (raw_module, raw_name), label in candidates.items():
        module, name = py3_name(raw_module, raw_name)  # a profile lists what Python 3 imports
        why = named_danger(module, name) or excluded(module, name)
        if profile_of(module) is None:
            why = why or "no profile covers this module"
        if why:
            dropped[(module, name)] = f"{why} ({label})"
        else:
            kept[(module, name)] = label
    for module, name in aliases(kept):
        if (module, name) in kept or named_danger(module, name) or excluded(module, name) or profile_of(module) is None:
            continue
        kept[(module, name)] = "alias"
    return kept, dropped


def render(kept):
    import joblib
    import numpy
    import pandas
    import pyarrow
    import scipy
    import sklearn

    by_profile = {}
    for module, name in kept:
        by_profile.setdefault(profile_of(module), {}).setdefault(module, []).append(name)
    lines = [
        '"""The globals of each pickle profile: GENERATED by tools/gen_pickle_profiles.py, do not edit.',
        "",
        f"Generated {datetime.date.today().isoformat()} with Python {sys.version.split()[0]}, numpy {numpy.__version__}, "
        f"pandas {pandas.__version__},",
        f"pyarrow {pyarrow.__version__}, scikit-learn {sklearn.__version__}, scipy {scipy.__version__}, "
        f"joblib {joblib.__version__}: the globals found in real",
        "pickles and joblib files of those libraries' objects, every scikit-learn estimator class, and the other",
        "module paths that bind the same objects. See guardpolicy/scan/profiles.py.",
        '"""',
        "",
        "PROFILES = {",
    ]
    for profile in ("numpy", "pandas", "sklearn", "scipy", "collections", "stdlib-data"):
        lines.append(f"    {profile!r}: {{")
        for module in sorted(by_profile.get(profile, {})):
            names = sorted(by_profile[profile][module])
            chunk = f"        {module!r}: ("
            body = [repr(n) for n in names]
            text = chunk + ", ".join(body) + ("," if len(body) == 1 else "") + "),"
            if len(text) <= 120:
                lines.append(text)
                continue
            lines.append(chunk)
            row = "            "
            for item in body:
                if len(row) + len(item) + 2 > 120:
                    lines.append(row.rstrip())
                    row = "            "
                row += item + ", "
            lines.append(row.rstrip())
            lines.append("        ),")
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the output would change")
    parser.add_argument("--report", action="store_true", help="print what was dropped and why")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    kept, dropped = build()
    problems = review(kept)
    if args.report:
        for pair, why in sorted(dropped.items()):
            print(f"dropped {pair[0]}.{pair[1]}: {why}")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"{len(problems)} pair(s) need a review (see REVIEWED_CALLABLES / REVIEWED_STATE)", file=sys.stderr)
        return 1
    text = render(kept)
    if args.check:
        old = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        strip = lambda t: "\n".join(line for line in t.splitlines() if not line.startswith("Generated "))  # noqa: E731
        return 0 if strip(old) == strip(text) else 1
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {len(kept)} globals", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
