"""scikit-learn-style completion estimators on top of the C++ library.

    SoftImpute  nuclear-norm completion (soft-impute, ALS or SVD form), with a
                warm-started lambda path and k-fold CV when ``lam`` is None
    ALS         hard-rank alternating least squares (optionally with biases,
                or robust: Huber-clipped residuals)
    RobustPCA   principal component pursuit (low rank + sparse), inexact ALM
    GAME        group-aware matrix estimation: one nuclear norm per row group

All are *transductive*, like R softImpute and every matrix-completion
method: ``fit(X)`` completes the m x n matrix X (NaN = missing, or a
scipy.sparse matrix whose stored entries are the observed ones);
``transform(X)`` returns X with its missing cells filled by the fit and
``predict(rows, cols)`` returns the fitted values of any cells. ``transform``
therefore needs an X of the fitted shape; see docs/python.md for the list of
scikit-learn estimator checks this excludes and why.

Ctrl-C during ``fit`` stops the C++ solver at the end of its iteration; the
estimator keeps the last iterate (``status_ == "interrupted"``) and then
KeyboardInterrupt is raised.
"""
from __future__ import annotations

import numpy as np

from . import _core
from ._data import _is_sparse, as_entries, as_float_array
from ._progress import _Progress

try:  # scikit-learn gives clone(), repr and the tag machinery its checks use
    from sklearn.base import BaseEstimator as _Base
    from sklearn.base import TransformerMixin as _Mixin
except ImportError:  # pragma: no cover - python3-sklearn is a dependency
    import inspect

    class _Base:
        @classmethod
        def _get_param_names(cls):
            sig = inspect.signature(cls.__init__)
            return sorted(p.name for p in sig.parameters.values() if p.name != "self" and p.kind != p.VAR_KEYWORD)

        def get_params(self, deep=True):
            return {k: getattr(self, k) for k in self._get_param_names()}

        def set_params(self, **params):
            valid = self._get_param_names()
            for k, v in params.items():
                if k not in valid:
                    raise ValueError(f"Invalid parameter {k!r} for estimator {type(self).__name__}")
                setattr(self, k, v)
            return self

    class _Mixin:
        def fit_transform(self, X, y=None, **fit_params):
            return self.fit(X, y, **fit_params).transform(X)

__all__ = ["SoftImpute", "ALS", "RobustPCA", "GAME", "load_model", "save_model"]

# The library's defaults (lowrank/completion/fit.hpp): the estimators hold none of their own.
_D = _core.completion_defaults()
_R = _core.robust_pca_defaults()
# GAME's, from lowrank/game/path.hpp (GamePathOptions).
_G = _core.game_defaults()


# Keywords renamed to the CLI's flag names (issue 34): the old name is still
# accepted, with a DeprecationWarning, for one release. Its default is this
# marker, so get_params / clone carry it unchanged.
_RENAMED = "deprecated"


def _renamed(est, old, new):
    """The value of keyword `new`, or of its old name `old` when that was given."""
    v = getattr(est, old)
    if isinstance(v, str) and v == _RENAMED:
        return getattr(est, new)
    import warnings
    warnings.warn(f"{type(est).__name__}({old}=...) is deprecated and will be removed in the next release: "
                  f"use {new}= (the CLI's --{new.replace('_', '-')})", DeprecationWarning, stacklevel=3)
    return v


class NotFittedError(ValueError, AttributeError):
    """Raised by transform/predict before fit (same bases as sklearn's)."""


def _check_int(name, v, low=None, allow_none=False):
    if v is None and allow_none:
        return
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {v!r}")
    if low is not None and v < low:
        raise ValueError(f"{name} must be >= {low}, got {v}")


def _check_real(name, v, low=None, allow_none=False, strict=False):
    if v is None and allow_none:
        return
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {v!r}")
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if low is not None and (v <= low if strict else v < low):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {low}, got {v}")


def _check_choice(name, v, choices):
    if v not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {v!r}")


class _CompletionBase(_Mixin, _Base):
    """fit / transform / predict shared by the estimators."""

    _desc = "lowrank"

    # Methods whose transform/score can fold in rows that were not fitted.
    _fold_in = False

    # --- scikit-learn tags: NaN marks missing cells; no y. The checks below
    # cannot apply to a completion estimator; check_estimator skips them with
    # the reason (python/tests/test_sklearn.py, docs/python.md).
    def _more_tags(self):
        xfail = {
            "check_estimator_sparse_data": "predict(X) returns the completed (m, n) matrix, not one value per row; "
                                           "sparse X itself is supported (stored entries = observed cells)",
        }
        if self._fold_in:
            reason = ("fold-in: transform of rows that were not fitted solves for their factors with the column "
                      "factors fixed, which differs from the transductive fit of the same rows")
            xfail.update({"check_methods_subset_invariance": reason,
                          "check_methods_sample_order_invariance": reason,
                          "check_fit_idempotent": reason})
        else:
            reason = "transductive: transform completes the fitted matrix and needs its shape"
            xfail.update({"check_methods_subset_invariance": reason,
                          "check_methods_sample_order_invariance": reason,
                          "check_fit_idempotent": reason})
        return {"allow_nan": True, "requires_y": False, "X_types": ["2darray", "sparse"],
                "preserves_dtype": [np.float64, np.float32], "_xfail_checks": xfail}

    # --- labels: a DataFrame's index and columns are kept (index_, columns_
    # and sklearn's feature_names_in_), used by predict(..., labels) and
    # recommend, and given back by set_output(transform="pandas").
    def _capture_labels(self, X):
        self.index_ = None
        self.columns_ = None
        if hasattr(self, "_check_feature_names"):  # scikit-learn: sets / clears feature_names_in_
            self._check_feature_names(X, reset=True)
        if hasattr(X, "columns") and hasattr(X, "index"):
            self.index_ = list(X.index)
            self.columns_ = list(X.columns)

    def get_feature_names_out(self, input_features=None):
        """Output column names: the fitted DataFrame's columns, else x0, x1, ...
        (what set_output(transform="pandas") labels the completed matrix with)."""
        self._check_fitted()
        if self.columns_ is not None:
            return np.asarray([str(c) for c in self.columns_], dtype=object)
        return np.asarray([f"x{j}" for j in range(self.shape_[1])], dtype=object)

    def _positions(self, values, labels, what):
        """Positions of labels in the fitted index / columns (ValueError for an unknown one)."""
        if labels is None:
            raise ValueError(f"predict by label: the estimator was not fitted on a DataFrame, so it has no {what} labels")
        where = {lab: k for k, lab in enumerate(labels)}
        # A CLI model's ids are strings (user 196 is "196") and a pandas index
        # read from a file may be integers: a label also matches by its text.
        by_text = {str(lab): k for k, lab in enumerate(labels)}
        out = np.empty(len(values), dtype=np.int32)
        for k, v in enumerate(values):
            if v in where:
                out[k] = where[v]
            elif str(v) in by_text:
                out[k] = by_text[str(v)]
            else:
                raise ValueError(f"predict: {what} label {v!r} is not in the fitted {what}s")
        return out

    def __setstate__(self, state):
        # The C++ model pickles without its clip range: re-apply it.
        parent = getattr(super(), "__setstate__", None)
        if parent is not None:
            parent(state)
        else:
            self.__dict__.update(state)
        cr = getattr(self, "clip_range_", None)
        if cr is not None and hasattr(self, "model_"):
            self.model_ = _core.with_clip(self.model_, *cr)

    def _check_fitted(self):
        if not hasattr(self, "shape_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet; call fit(X) first")

    def _entries(self, X):
        e = as_entries(X, "X")
        self._capture_labels(X)
        m, n = e.shape
        # A single row (or column) shares nothing with any other, so there is
        # no low-rank structure to estimate: refuse it plainly.
        if m < 2:
            raise ValueError(f"{type(self).__name__}: X has n_samples={m} row; completion needs at least 2 rows")
        if n < 2:
            raise ValueError(f"{type(self).__name__}: X has n_features={n} column; completion needs at least 2 "
                             f"columns")
        return e

    def _finish(self, result, progress):
        progress.close()
        self.status_ = result["status"]
        self.warnings_ = list(result.get("warnings", []))
        # The solver's own time inside C++ for this fit (conversions excluded).
        self.elapsed_s_ = float(result.get("elapsed_s", float("nan")))
        if result.get("interrupted"):
            raise KeyboardInterrupt(f"{type(self).__name__}.fit interrupted; the estimator holds the last iterate "
                                    f"(status_='interrupted')")

    def _set_model(self, model):
        self.model_ = model
        self.components_ = np.asarray(model.V).T
        self.singular_values_ = np.asarray(model.d)
        self.row_factors_ = np.asarray(model.U)
        self.rank_ = int(model.rank())

    def _set_shape(self, e):
        self.shape_ = e.shape
        self.n_features_in_ = e.shape[1]
        self.n_observed_ = e.nnz
        self._dtype = e.value.dtype
        # What recommend leaves out and save_model records (seen.tsv).
        order = np.lexsort((e.col, e.row))
        self._seen = (e.row[order], e.col[order], np.asarray(e.value)[order])
        self.train_range_ = (float(np.min(e.value)), float(np.max(e.value))) if e.nnz else None

    def _apply_clip(self):
        """clip=True: predictions clipped to the training range (the CLI's --clip)."""
        if getattr(self, "clip", False) and self.train_range_ is not None:
            self._set_model(_core.with_clip(self.model_, *self.train_range_))
            self.clip_range_ = self.train_range_
        else:
            self.clip_range_ = None

    def _full(self) -> np.ndarray:
        """The fitted m x n matrix (the estimator's values in every cell)."""
        return self.model_.to_dense()

    def transform(self, X):
        """X with its missing cells (NaN, or unstored entries of a sparse X)
        replaced by the fitted values; observed cells are kept. X must have the
        fitted shape (the estimators are transductive)."""
        self._check_fitted()
        if hasattr(self, "_check_feature_names"):  # warns when a DataFrame's columns differ from the fit's
            self._check_feature_names(X, reset=False)
        if _is_sparse(X):
            if X.shape != self.shape_:
                raise ValueError(f"X has shape {X.shape}, but {type(self).__name__} was fitted on {self.shape_}")
            out = self._full()
            coo = X.tocoo()
            out[coo.row, coo.col] = coo.data
            return out
        a = as_float_array(X, "X")
        if a.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {a.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input")
        if a.shape != self.shape_ and not self._fold_in:
            raise ValueError(f"X has shape {a.shape}, but {type(self).__name__} was fitted on {self.shape_}: "
                             f"this method is transductive, transform() completes the fitted matrix "
                             f"(use predict(rows, cols) for single cells)")
        out = np.array(a, dtype=np.result_type(a.dtype, self._dtype), order="C", copy=True)
        missing = np.isnan(out)
        if missing.any():
            full = self._full() if a.shape == self.shape_ else self.fold_in(a)
            out[missing] = full[missing]
        return out

    def fold_in(self, X):
        """Fitted values of rows that were not in the fit (same columns), with
        the column factors fixed: each row's factors are the ridge solution on
        its observed cells (lowrank::fold_in, docs/python.md). Returns the
        (rows, n) matrix of fitted values; observed cells are not kept."""
        self._check_fitted()
        if not self._fold_in:
            raise ValueError(f"{type(self).__name__} is transductive: it has no fold-in for new rows")
        e = as_entries(X, "X", dtype=self._dtype)
        if e.shape[1] != self.shape_[1]:
            raise ValueError(f"fold_in: X has {e.shape[1]} columns, the fit {self.shape_[1]}")
        return _core.fold_in(self.model_, e.shape[0], e.shape[1], e.row, e.col,
                             np.ascontiguousarray(e.value, dtype=self._dtype), float(self._fold_in_lambda()))

    def _fold_in_lambda(self):
        return self.lambda_

    def score(self, X, y=None):
        """Negative RMSE on held-out observed cells of X (higher is better, as
        scikit-learn's model selection expects).

        X of the fitted shape is a held-out matrix (NaN except the cells to
        score, e.g. a test split of the fitted matrix): the fit is scored on
        its observed cells. X with other rows (GridSearchCV's test folds) is
        scored by fold-in: in each row, a random 20 % of the observed cells
        (seeded by ``seed``) are hidden, the row is folded in from the rest,
        and the hidden cells are scored."""
        self._check_fitted()
        e = as_entries(X, "X")
        if e.shape == self.shape_:
            pred = self._predict(e.row, e.col)
            return -float(np.sqrt(np.mean((np.asarray(pred, dtype=np.float64) - e.value) ** 2)))
        if not self._fold_in:
            raise ValueError(f"{type(self).__name__}.score: X has shape {e.shape}, the fit {self.shape_}; "
                             f"this method is transductive (score a held-out matrix of the fitted shape)")
        rng = np.random.default_rng(getattr(self, "seed", 0))
        hide = rng.random(e.nnz) < 0.2
        if not hide.any() or hide.all():
            raise ValueError("score: X has too few observed cells to hold 20 % of them out")
        keep = ~hide
        full = _core.fold_in(self.model_, e.shape[0], e.shape[1], e.row[keep], e.col[keep],
                             np.ascontiguousarray(e.value[keep], dtype=self._dtype), float(self._fold_in_lambda()))
        pred = full[e.row[hide], e.col[hide]].astype(np.float64)
        return -float(np.sqrt(np.mean((pred - e.value[hide]) ** 2)))

    def recommend(self, user, top=_D["recommend_top"], exclude_seen=True):
        """The ``top`` columns (items) with the highest prediction in row
        ``user`` (a label of the fitted DataFrame's index, or a position),
        leaving out the cells observed in the fit unless ``exclude_seen`` is
        False -- `lowrank recommend`. Returns a list of (item, score), best
        first; items are column labels when the fit had them."""
        self._check_fitted()
        if self.index_ is not None and (user in self.index_ or str(user) in map(str, self.index_)):
            row = int(self._positions([user], self.index_, "row")[0])  # labels win over positions
        elif isinstance(user, (int, np.integer)) and 0 <= user < self.shape_[0]:
            row = int(user)
        else:
            raise ValueError(f"recommend: user {user!r} is neither a row label nor a row position of the fit")
        r, c, _ = self._seen
        exclude = c[r == row] if exclude_seen else np.empty(0, dtype=np.int32)
        cols, scores = self._recommend(row, int(top), np.ascontiguousarray(exclude, dtype=np.int32))
        names = self.columns_ if self.columns_ is not None else list(range(self.shape_[1]))
        return [(names[int(j)], float(v)) for j, v in zip(cols, scores)]

    def _recommend(self, row, top, exclude):
        return _core.recommend(self.model_, row, top, exclude)

    def predict(self, rows, cols=None, labels=False):
        """Fitted values at cells (rows[i], cols[i]) (0-based integer arrays of one length,
        or labels of the fitted DataFrame's index and columns; ``labels=True``
        reads integers as labels too, e.g. user ids).

        ``predict(X)`` with a single 2-D argument of the fitted shape returns the
        fitted values of every cell (observed ones included), the form
        scikit-learn's tooling calls."""
        self._check_fitted()
        if cols is None:
            self.transform(rows)  # the same shape / dtype checks
            return self._full()
        r = np.asarray(rows)
        c = np.asarray(cols)
        # Labels (a DataFrame fit): rows / cols that are not integers, or
        # labels=True for integer labels such as user ids.
        if labels or (r.size and r.dtype.kind not in "iu" and self.index_ is not None):
            r = self._positions(list(rows), self.index_, "row")
        if labels or (c.size and c.dtype.kind not in "iu" and self.columns_ is not None):
            c = self._positions(list(cols), self.columns_, "column")
        for name, v in (("rows", r), ("cols", c)):
            if v.ndim != 1 or (v.size and v.dtype.kind not in "iu"):
                raise TypeError(f"predict: {name} must be a 1-D integer array, got dtype {v.dtype} "
                                f"with shape {v.shape}")
        if r.shape != c.shape:
            raise ValueError(f"predict: rows and cols differ in length ({r.size} and {c.size})")
        m, n = self.shape_
        for name, v, hi in (("rows", r, m), ("cols", c, n)):
            if v.size and (v.min() < 0 or v.max() >= hi):
                bad = int(v[(v < 0) | (v >= hi)][0])
                raise ValueError(f"predict: {name} index {bad} is outside [0, {hi})")
        return self._predict(r.astype(np.int32), c.astype(np.int32))

    def _predict(self, r, c):
        return self.model_.predict(r, c)


class SoftImpute(_CompletionBase):
    """Soft-impute matrix completion (Mazumder, Hastie, Tibshirani 2010; Hastie et al. 2015).

    Minimises 1/2 ||P_Omega(X - Z)||_F^2 + lam ||Z||_* over rank(Z) <= rank.

    Parameters
    ----------
    lam : float or None
        Nuclear-norm weight. None (default) runs the warm-started path of
        ``lambda_path`` values from lambda_max down to ``min_ratio * lambda_max``
        and, when ``cv`` >= 2, picks lambda by k-fold CV (validation RMSE),
        exactly as ``lowrank complete`` does without ``--lambda``.
    rank : int
        Rank cap (default 50, the library's; at most min(m, n)); the CLI's
        ``--rank``. (``max_rank``, its old name, still works for one release
        with a DeprecationWarning; so do ``n_lambdas`` for ``lambda_path`` and
        ``scaling`` for ``centering``.)
    cv : int
        Folds of the cross-validation (0: no CV, the path runs to its end).
    cv_scaling : "sqrt" | "none"
        "sqrt" (default): each fold fits at lambda * sqrt(fold entries /
        entries), so the chosen lambda suits the refit on all entries (the
        CLI's --cv-scaling); "none": the grid's lambda as is.
    variant : "als" | "svd"
    centering : "auto" | "none" | "biases" | "center" | "scale"
        What is taken out before the low-rank fit. "auto" (default): with CV,
        validation chooses between "none" and "biases" (global mean + row and
        column biases shrunk by ``bias_shrinkage`` entries); with a fixed
        ``lam``, "none". "center" / "scale": biScale.
    scaling : "none" | "center" | "scale"
        Deprecated spelling of centering="center" / "scale" (used when not "none").
    float32 : bool
        Store the values and run the solver in single precision (the CLI's
        ``--float32``): about 2/3 of the memory at 10^7 entries, the same
        test RMSE to ~1e-5; the model is returned in double.
    verbose : bool
        tqdm progress bar on stderr.
    callback : callable or None
        Called with a dict (stage, iteration, objective, change, elapsed_s,
        rank) after every iteration; raising stops the fit.

    Attributes
    ----------
    components_ : (rank_, n) right singular vectors; singular_values_ : (rank_,)
    row_factors_ : (m, rank_) left singular vectors; rank_, lambda_, n_iter_
    cv_results_ : dict of arrays (param_lam, mean_test_rmse, std_test_rmse,
        mean_test_mae, mean_rank, n_folds) or None; best_index_
    path_ : dict of arrays along the final path (after CV at the rank cap: one
        point, the refit warm-started from the best fold fit), or None; lambda_max_
    centering_ : the centring used; centering_scores_ : {centring: (best CV
        RMSE, its lambda)} under centering="auto"
    stop_reason_ : why the returned fit stopped; caps_bound_ : caps that
        bound it ("rank", "iterations")
    objective_trace_, status_, warnings_, model_ (the C++ CompletionModel)
    """

    _desc = "soft-impute"
    _fold_in = True

    def __init__(self, lam=None, rank=_D["max_rank"], cv=_D["cv"], lambda_path=_D["n_lambdas"],
                 min_ratio=_D["min_ratio"], variant=_D["variant"], scaling="none", debias=False, tol=_D["tol"],
                 max_iter=_D["max_iter"], patience=_D["patience"], cv_scaling=_D["cv_scaling"], seed=0,
                 threads=0, verbose=False, callback=None, centering=_D["centering"], clip=False, float32=False,
                 max_rank=_RENAMED, n_lambdas=_RENAMED):
        self.clip = clip
        self.float32 = float32
        self.lam = lam
        self.centering = centering
        self.rank = rank
        self.max_rank = max_rank
        self.cv = cv
        self.lambda_path = lambda_path
        self.n_lambdas = n_lambdas
        self.min_ratio = min_ratio
        self.variant = variant
        self.scaling = scaling
        self.debias = debias
        self.tol = tol
        self.max_iter = max_iter
        self.patience = patience
        self.cv_scaling = cv_scaling
        self.seed = seed
        self.threads = threads
        self.verbose = verbose
        self.callback = callback

    def _validate_params(self):
        _check_real("lam", self.lam, 0, allow_none=True)
        rank, lambda_path = _renamed(self, "max_rank", "rank"), _renamed(self, "n_lambdas", "lambda_path")
        _check_int("rank", rank, 1, allow_none=True)
        _check_int("cv", self.cv, 0)
        if self.cv == 1:
            raise ValueError("cv must be 0 (no cross-validation) or >= 2, got 1")
        _check_int("lambda_path", lambda_path, 1)
        _check_real("min_ratio", self.min_ratio, 0, strict=True)
        _check_choice("variant", self.variant, ("als", "svd"))
        _check_choice("scaling", self.scaling, ("none", "center", "scale"))
        _check_choice("centering", self.centering, ("auto", "none", "biases", "center", "scale"))
        _check_choice("cv_scaling", self.cv_scaling, ("sqrt", "none"))
        _check_real("tol", self.tol, 0)
        _check_int("max_iter", self.max_iter, 1)
        _check_int("seed", self.seed, 0)
        if self.scaling != "none":
            import warnings
            warnings.warn(f"SoftImpute(scaling={self.scaling!r}) is deprecated and will be removed in the next "
                          f"release: use centering={self.scaling!r} (the CLI's --centering)", DeprecationWarning,
                          stacklevel=3)
        return rank, lambda_path

    def fit(self, X, y=None):
        """Fit to the observed entries of X (NaN = missing, or scipy.sparse). Returns self."""
        rank, lambda_path = self._validate_params()
        e = self._entries(X)
        # rank is a cap, not a target: the library clips it at min(m, n) (as R softImpute does).
        centering = self.scaling if self.scaling != "none" else self.centering
        opts = dict(lam=self.lam, max_rank=rank, cv=self.cv, n_lambdas=lambda_path,
                    min_ratio=self.min_ratio, variant=self.variant, centering=centering, debias=self.debias,
                    # as the CLI: a cap other than the library's is the user's, not resumed
                    max_iteration_rounds=None if self.max_iter == _D["max_iter"] else 1,
                    tol=self.tol, max_iter=self.max_iter, patience=self.patience, cv_scaling=self.cv_scaling,
                    seed=self.seed, threads=self.threads, float32=bool(self.float32))
        progress = _Progress(self.verbose, self.callback, self._desc)
        try:
            r = _core.complete(*e.args(), "soft-impute", opts, progress.active())
        finally:
            progress.close()
        self._set_shape(e)
        self._set_model(r["model"])
        self.lambda_ = float(r["lambda"])
        self.lambda_max_ = None if r["lambda_max"] < 0 else float(r["lambda_max"])
        self.n_iter_ = int(r["iterations"])
        self.objective_trace_ = r["objective_trace"]
        self.path_ = r["path"]
        self.centering_ = r["centering"]
        self.centering_scores_ = dict(r["centering_scores"])
        self.stop_reason_ = r["stop_reason"]
        self.caps_bound_ = list(r["caps_bound"])
        self.cv_results_ = _cv_results(r["cv"])
        self.best_index_ = None if r["cv"] is None else int(r["cv"]["best_index"])
        self._apply_clip()
        self._finish(r, progress)
        return self


def _cv_results(cv):
    if cv is None:
        return None
    return {"param_lam": cv["lambda"], "mean_test_rmse": cv["mean_rmse"], "std_test_rmse": cv["sd_rmse"],
            "mean_test_mae": cv["mean_mae"], "mean_rank": cv["mean_rank"], "n_folds": cv["folds"]}


class ALS(_CompletionBase):
    """Hard-rank alternating least squares (ALS-WR / LIBMF / Spark model).

    Minimises sum_Omega (x_ij - mu - b_i - c_j - p_i^T q_j)^2 + lam (weighted
    ||P||^2 + ||Q||^2) with rank ``rank``; ``biases`` learns mu, b, c;
    ``robust=True`` clips large residuals (Huber), the CLI's ``robust-als``.
    ``weighting``: "frequency" (lam * |Omega_i| per row, default) | "uniform".
    ``init``: "random" (LIBMF's and Spark's random start, default) |
    "spectral" (the top singular vectors of the rescaled observations: fewer
    sweeps to the optimum). ``float32``: as SoftImpute's.

    ``cv`` >= 2 chooses ``lam`` by k-fold cross-validation over a log grid of
    ``lambda_path`` values from the weighted lambda_max down to ``min_ratio``
    of it (the CLI's ``--method als --cv K``; ``lam`` is then not used); 0
    (the default) fits once at ``lam``. (``n_lambdas``, the old name of
    ``lambda_path``, still works for one release with a DeprecationWarning.)

    Attributes: as SoftImpute (components_, singular_values_, rank_, lambda_,
    n_iter_, objective_trace_, cv_results_ and best_index_ with ``cv``, else
    None), plus global_offset_, row_offset_, col_offset_ (the learned biases,
    empty without ``biases``).
    """

    _desc = "als"
    _fold_in = True

    def __init__(self, rank=_D["als_rank"], lam=_D["als_lam"], biases=False, weighting=_D["als_weighting"], robust=False,
                 bias_lam=None, clip_factor=_D["als_clip_factor"], tol=_D["als_tol"], max_iter=_D["als_max_iter"],
                 seed=0, threads=0, verbose=False, callback=None, init=_D["als_init"], clip=False, float32=False, cv=0,
                 lambda_path=_D["n_lambdas"], min_ratio=_D["min_ratio"], patience=_D["patience"],
                 n_lambdas=_RENAMED):
        self.cv = cv
        self.lambda_path = lambda_path
        self.n_lambdas = n_lambdas
        self.min_ratio = min_ratio
        self.patience = patience
        self.clip = clip
        self.float32 = float32
        self.rank = rank
        self.init = init
        self.lam = lam
        self.biases = biases
        self.weighting = weighting
        self.robust = robust
        self.bias_lam = bias_lam
        self.clip_factor = clip_factor
        self.tol = tol
        self.max_iter = max_iter
        self.seed = seed
        self.threads = threads
        self.verbose = verbose
        self.callback = callback

    def fit(self, X, y=None):
        _check_int("rank", self.rank, 1)
        _check_real("lam", self.lam, 0)
        _check_choice("weighting", self.weighting, ("frequency", "uniform"))
        _check_choice("init", self.init, ("spectral", "random"))
        _check_real("bias_lam", self.bias_lam, 0, allow_none=True)
        _check_real("tol", self.tol, 0)
        _check_int("max_iter", self.max_iter, 1)
        _check_int("seed", self.seed, 0)
        _check_int("cv", self.cv, 0)
        if self.cv == 1:
            raise ValueError("cv must be 0 (one fit at lam) or >= 2, got 1")
        lambda_path = _renamed(self, "n_lambdas", "lambda_path")
        _check_int("lambda_path", lambda_path, 1)
        _check_real("min_ratio", self.min_ratio, 0, strict=True)
        e = self._entries(X)
        if self.rank > min(e.shape):
            raise ValueError(f"ALS: rank={self.rank} exceeds min(m, n)={min(e.shape)} of X with shape {e.shape}")
        opts = dict(rank=self.rank, lam=self.lam, biases=bool(self.biases), weighting=self.weighting,
                    bias_lam=self.bias_lam, clip_factor=self.clip_factor, tol=self.tol, max_iter=self.max_iter,
                    max_iteration_rounds=None if self.max_iter == _D["als_max_iter"] else 1,
                    seed=self.seed, threads=self.threads, init=self.init, float32=bool(self.float32), cv=self.cv,
                    n_lambdas=lambda_path, min_ratio=self.min_ratio, patience=self.patience)
        progress = _Progress(self.verbose, self.callback, self._desc)
        try:
            r = _core.complete(*e.args(), "robust-als" if self.robust else "als", opts, progress.active())
        finally:
            progress.close()
        self._set_shape(e)
        self._set_model(r["model"])
        self.global_offset_ = self.model_.global_offset
        self.row_offset_ = self.model_.row_offset
        self.col_offset_ = self.model_.col_offset
        self.lambda_ = float(r["lambda"])
        self.n_iter_ = int(r["iterations"])
        self.objective_trace_ = r["objective_trace"]
        self.stop_reason_ = r["stop_reason"]
        self.caps_bound_ = list(r["caps_bound"])
        self.cv_results_ = _cv_results(r["cv"])
        self.best_index_ = None if r["cv"] is None else int(r["cv"]["best_index"])
        self.lambda_max_ = None if r["lambda_max"] < 0 else float(r["lambda_max"])
        self._apply_clip()
        self._finish(r, progress)
        return self


class RobustPCA(_CompletionBase):
    """Robust PCA by principal component pursuit (Candes et al. 2011), inexact ALM.

    X ~ L + S with L low-rank and S sparse; missing cells (NaN) are completed
    by L. ``lam`` None is 1 / sqrt(p max(m, n)).

    predict gives what ``lowrank predict`` gives for the saved model (one
    model, one predict): L + S, i.e. L on a missing cell and the data's fit on
    an observed one (S is zero off the observed cells, so transform and scores
    on held-out cells see L). For the clean low-rank part of an observed cell
    read ``low_rank_``.

    Attributes: low_rank_ (L), sparse_ (S), model_ (L's SVD with S as its
    sparse part), rank_, components_ / singular_values_ (SVD of L), lambda_, n_iter_, objective_trace_,
    residual_trace_; cv_results_ is None.
    """

    _desc = "rpca"

    def __init__(self, lam=None, mu=None, rho=_R["rho"], tol=_R["tol"], max_iter=_R["max_iter"], verbose=False,
                 callback=None):
        self.lam = lam
        self.mu = mu
        self.rho = rho
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose
        self.callback = callback

    def fit(self, X, y=None):
        _check_real("lam", self.lam, 0, allow_none=True, strict=True)
        _check_real("mu", self.mu, 0, allow_none=True, strict=True)
        _check_real("rho", self.rho, 1, strict=True)
        _check_real("tol", self.tol, 0)
        _check_int("max_iter", self.max_iter, 1)
        e = self._entries(X)
        opts = dict(lam=self.lam, mu=self.mu, rho=self.rho, tol=self.tol, max_iter=self.max_iter)
        progress = _Progress(self.verbose, self.callback, self._desc)
        try:
            # Same entry point as `lowrank complete --method rpca` (observed entries).
            r = _core.robust_pca_entries(*e.args(), opts, progress.active())
        finally:
            progress.close()
        self._set_shape(e)
        self.low_rank_ = r["L"]
        self.sparse_ = r["S"]
        # The library's model: L as factors plus S as its sparse part; predict
        # is the model's, L + S, as `lowrank predict` on the CLI's folder.
        self._set_model(r["model"])
        self.clip_range_ = None
        self.rank_ = int(r["rank"])
        self.lambda_ = float(r["lambda"])
        self.n_iter_ = int(r["iterations"])
        self.objective_trace_ = r["objective_trace"]
        self.residual_trace_ = r["residual_trace"]
        self.cv_results_ = None
        self._finish(r, progress)
        return self



class GAME(_CompletionBase):
    """Group-aware matrix estimation (Golubovic, Shen, Allen, Zikry 2026).

    minimise 1/2 ||P_Omega(X - Z)||_F^2 + lam sum_k w_k ||Z[G_k, :]||_*   (sum variant)

    over row groups G_k (overlapping), plus the global group of all rows.

    Parameters
    ----------
    groups : pandas.DataFrame | dict | list
        DataFrame of row attributes, indexed by the row ids (0..m-1 unless
        ``row_ids`` is given to fit); the levels of ``group_cols`` become the
        groups ("col=level"), numeric columns may be binned with ``bins``
        ({"age": [0, 25, 35, 45, 100]}) -- the CLI's --groups/--group-cols/--bins.
        Or a dict {name: row indices}, or a list of row-index arrays.
    lam : float or None
        None: lambda path with ``cv``-fold CV (the CLI's default, 10 lambdas
        down to 0.02 lambda_max); cv_scaling as for SoftImpute. The fits that
        only score a fold or warm-start the refit run loose: cv_tol (default
        1e-3, never tighter than tol; 0 = tol), cv_sweeps dual sweeps per
        iteration (1; 0 = solve every prox) and cv_precision ("float" or
        "double"); the returned fit is polished in double to tol. A fold stops
        once its error has risen for ``cv_patience`` lambdas past its minimum (2;
        0 = whole grid), or at the first rise that is significant (paired z >=
        1.645 over its held-out squared errors); rises count once the error is
        0.1 % below the first lambda's. The folds run in parallel over the
        threads.
    variant : "sum" | "latent"; solver : "proximal-gradient" | "admm"
    storage : "auto" | "dense" | "factored" ("auto": factored where the variant
        and solver allow it, dense otherwise; "factored": variant "latent" with
        the proximal-gradient solver only: each group's component kept as its SVT factors and the
        data term on the observed entries, the CLI's --game-storage; memory
        O(nnz + sum_k (|G_k| + n) r_k) in the fit, though ``completed_`` is
        still the m x n matrix). Defaults are GamePathOptions' (_core.game_defaults()).
    weights : "sqrt-size-plus-sqrt-cols" | "sqrt-size" | "uniform"
    weight_cv : "none" | "schemes" | "per-group": choose the group weights by
        CV (needs cv > 0; the CLI's --weight-cv): "schemes" tries the other
        schemes and sampling-aware weights, "per-group" multiplies each
        group's weight by each of ``weight_multipliers`` in one coordinate
        pass; each candidate is one CV path on the same folds. weighting_ is
        the chosen candidate, weight_scores_ a list of (candidate, weights,
        CV RMSE, lambda).
    center : "auto" (default: CV chooses between "none" and "biases", shrunken
        mu + b_i + c_j; with a fixed lam or cv=0, "center") | "none" |
        "biases" | "center" (biScale row and column means); True = "center",
        False = "none". centering_ is the one used, centering_scores_ the CV
        RMSE and lambda of each candidate under "auto".

    Attributes: completed_ (m x n fit), groups_ (per group: name, size,
    observed, weight, rank, effective_rank, U, S, V), group_names_,
    components_ / singular_values_ / rank_ (of the global group's block, when
    present), lambda_, lambda_max_, cv_results_, n_iter_, objective_, kkt_max_,
    model_ (the C++ CompletionModel: latent variant, one part per group in
    model_.groups; what save_model writes and load_model reads back).
    """

    _desc = "game"

    def __init__(self, groups=None, group_cols=None, bins=None, lam=None, cv=_G["cv"], lambda_path=_G["n_lambdas"],
                 min_ratio=_G["min_ratio"], variant=_G["variant"], solver=_G["solver"], weights=_G["weights"],
                 global_group=_G["global_group"], center=_G["center"], rank=_G["max_rank"], tol=_G["tol"],
                 max_iter=_G["max_iter"], cv_scaling=_G["cv_scaling"], cv_tol=_G["cv_tol"],
                 cv_sweeps=_G["cv_sweeps"], cv_precision=_G["cv_precision"], cv_patience=_G["patience"],
                 seed=_G["seed"], storage=_G["storage"], weight_cv=_G["weight_cv"],
                 weight_multipliers=tuple(_G["weight_multipliers"]), verbose=False, callback=None,
                 n_lambdas=_RENAMED, max_rank=_RENAMED, patience=_RENAMED):
        self.groups = groups
        self.group_cols = group_cols
        self.bins = bins
        self.lam = lam
        self.cv = cv
        self.lambda_path = lambda_path
        self.n_lambdas = n_lambdas
        self.min_ratio = min_ratio
        self.variant = variant
        self.solver = solver
        self.weights = weights
        self.global_group = global_group
        self.center = center
        self.rank = rank
        self.max_rank = max_rank
        self.tol = tol
        self.max_iter = max_iter
        self.cv_scaling = cv_scaling
        self.cv_tol = cv_tol
        self.cv_sweeps = cv_sweeps
        self.cv_precision = cv_precision
        self.cv_patience = cv_patience
        self.patience = patience
        self.seed = seed
        self.storage = storage
        self.weight_cv = weight_cv
        self.weight_multipliers = weight_multipliers
        self.verbose = verbose
        self.callback = callback

    def _row_groups(self, m, row_ids):
        g = self.groups
        if g is None:
            raise ValueError("GAME needs groups=: a DataFrame of row attributes (with group_cols), "
                             "a dict {name: row indices} or a list of row-index arrays")
        if hasattr(g, "columns") and hasattr(g, "index"):  # pandas DataFrame
            import pandas as pd
            cols = list(g.columns) if self.group_cols is None else list(self.group_cols)
            missing = [c for c in cols if c not in g.columns]
            if missing:
                raise ValueError(f"GAME: group_cols {missing} are not columns of the DataFrame "
                                 f"(columns: {list(g.columns)})")
            names = [str(c) for c in g.columns]
            cells, numeric = [], []
            for c in g.columns:
                s = g[c]
                isnum = bool(pd.api.types.is_numeric_dtype(s)) and not pd.api.types.is_bool_dtype(s)
                numeric.append(isnum)
                cells.append(["" if pd.isna(v) else (repr(float(v)) if isnum and not float(v).is_integer()
                                                      else (str(int(v)) if isnum else str(v)))
                              for v in s.tolist()])
            ids = [str(i) for i in g.index]
            rid = [str(i) for i in (range(m) if row_ids is None else row_ids)]
            if len(rid) != m:
                raise ValueError(f"GAME: row_ids has {len(rid)} ids for {m} rows")
            bins = {} if self.bins is None else {str(k): [float(x) for x in v] for k, v in self.bins.items()}
            gnames, grows, warns, _ = _core.row_groups_from_table(ids, names, cells, numeric, rid,
                                                                   [str(c) for c in cols], bins)
            return list(gnames), [np.asarray(r, dtype=np.int32) for r in grows], list(warns)
        if isinstance(g, dict):
            items = list(g.items())
        else:
            items = [(f"group{k}", rows) for k, rows in enumerate(g)]
        gnames, grows = [], []
        for name, rows in items:
            r = np.asarray(rows)
            if r.dtype.kind == "b":
                if r.shape != (m,):
                    raise ValueError(f"GAME: boolean mask of group {name!r} has shape {r.shape}, expected ({m},)")
                r = np.flatnonzero(r)
            if r.ndim != 1 or (r.size and r.dtype.kind not in "iu"):
                raise TypeError(f"GAME: group {name!r} must be a 1-D array of row indices, got {r.dtype} {r.shape}")
            gnames.append(str(name))
            grows.append(np.sort(r).astype(np.int32))
        return gnames, grows, []

    def fit(self, X, y=None, row_ids=None):
        """Fit to X (NaN = missing, or scipy.sparse); ``row_ids`` names X's rows
        when ``groups`` is a DataFrame indexed by something other than 0..m-1."""
        _check_real("lam", self.lam, 0, allow_none=True, strict=True)
        _check_int("cv", self.cv, 0)
        lambda_path = _renamed(self, "n_lambdas", "lambda_path")
        rank = _renamed(self, "max_rank", "rank")
        cv_patience = _renamed(self, "patience", "cv_patience")
        _check_int("lambda_path", lambda_path, 1)
        _check_choice("variant", self.variant, ("sum", "latent"))
        _check_choice("solver", self.solver, ("proximal-gradient", "admm", "fista"))
        _check_choice("weights", self.weights, ("sqrt-size-plus-sqrt-cols", "sqrt-size", "uniform"))
        _check_choice("storage", self.storage, ("auto", "dense", "factored"))
        _check_choice("weight_cv", self.weight_cv, ("none", "schemes", "per-group"))
        _check_int("rank", rank, 0)
        _check_choice("cv_scaling", self.cv_scaling, ("sqrt", "none"))
        _check_choice("cv_precision", self.cv_precision, ("float", "double"))
        _check_int("cv_sweeps", self.cv_sweeps, 0)
        _check_int("cv_patience", cv_patience, 0)
        _check_int("seed", self.seed, 0)
        e = self._entries(X)
        if row_ids is None and self.index_ is not None:
            row_ids = self.index_  # GAME.fit(df): df.index names the rows that groups= describes
        gnames, grows, warns = self._row_groups(e.shape[0], row_ids)
        opts = dict(lam=self.lam, cv=self.cv, n_lambdas=lambda_path, min_ratio=self.min_ratio,
                    variant=self.variant, solver=self.solver, weights=self.weights,
                    global_group=bool(self.global_group),
                    centering=self.center if isinstance(self.center, str) else ("center" if self.center else "none"),
                    max_rank=rank,
                    tol=self.tol, max_iter=self.max_iter, cv_scaling=self.cv_scaling, cv_tol=self.cv_tol,
                    cv_sweeps=self.cv_sweeps, cv_precision=self.cv_precision, patience=cv_patience,
                    seed=self.seed, storage=self.storage, weight_cv=self.weight_cv,
                    weight_multipliers=[float(c) for c in self.weight_multipliers])
        progress = _Progress(self.verbose, self.callback, self._desc)
        try:
            r = _core.game(*e.args(), gnames, [g.tolist() for g in grows], opts, progress.active())
        finally:
            progress.close()
        self._set_shape(e)
        self.completed_ = r["completed"]
        self.centering_ = r["centering"]
        self.centering_scores_ = dict(r["centering_scores"])
        self.weighting_ = r["weighting"]
        self.weight_scores_ = [tuple(w) for w in r["weight_scores"]]
        self.groups_ = list(r["groups"])
        self.group_names_ = [g["name"] for g in self.groups_]
        self.group_rows_ = dict(zip(gnames, grows))
        glob = [g for g in self.groups_ if g["name"] == "all"]
        ref = glob[0] if glob else max(self.groups_, key=lambda g: g["size"])
        self.components_ = np.asarray(ref["V"]).T
        self.singular_values_ = np.asarray(ref["S"])
        self.rank_ = int(ref["rank"])
        self.lambda_ = float(r["lambda"])
        self.lambda_max_ = float(r["lambda_max"])
        self.n_iter_ = int(r["iterations"])
        self.objective_ = float(r["objective"])
        self.objective_trace_ = r["objective_trace"]
        self.kkt_max_ = float(r["kkt_max"])
        self.cv_results_ = _cv_results(r["cv"])
        self.best_index_ = None if r["cv"] is None else int(r["cv"]["best_index"])
        self.stop_reason_ = r["stop_reason"]
        self.row_center_ = r.get("row_center")
        self.col_center_ = r.get("col_center")
        # the one model type (latent: one part per group), for save_model
        self.model_ = r["model"]
        r["warnings"] = warns + list(r["warnings"])
        self._finish(r, progress)
        return self

    def _full(self):
        return np.array(self.completed_, copy=True)

    def _predict(self, r, c):
        return self.completed_[r, c]

    def _recommend(self, row, top, exclude):
        v = np.array(self.completed_[row], dtype=np.float64)
        v[exclude] = -np.inf
        order = np.argsort(-v, kind="stable")[:top]
        order = order[np.isfinite(v[order])]
        return order, v[order]

    def group_angles(self, reference="all"):
        """Principal angles (radians) between each group's right singular
        subspace and the reference group's (default: the global group).
        Returns {group name: angles}."""
        self._check_fitted()
        byname = {g["name"]: g for g in self.groups_}
        if reference not in byname:
            raise ValueError(f"group_angles: no group named {reference!r} (groups: {list(byname)})")
        ref = byname[reference]
        refV = np.asarray(ref["V"], dtype=np.float64)
        out = {}
        for g in self.groups_:
            if g["name"] == reference:
                continue
            out[g["name"]] = _core.group_subspace_angles(np.asarray(g["V"], dtype=np.float64),
                                                         np.asarray(g["S"], dtype=np.float64), refV)
        return out


def save_model(estimator, path):
    """Writes a fitted SoftImpute / ALS / RobustPCA / GAME as a model folder that
    `lowrank predict --model PATH` and `lowrank recommend --model PATH` read
    (the layout `lowrank complete --out` writes: U.npy d.npy V.npy, offsets,
    row_ids.txt col_ids.txt, model.json, means/, seen.tsv). Ids are the fitted
    DataFrame's labels (as strings), else 0..m-1 as the CLI numbers them."""
    import json
    import os

    estimator._check_fitted()
    if not hasattr(estimator, "model_"):
        raise ValueError(f"save_model: {type(estimator).__name__} has no low-rank model to save")
    m, n = estimator.shape_
    rows = [str(x) for x in estimator.index_] if estimator.index_ is not None else [str(i) for i in range(m)]
    cols = [str(x) for x in estimator.columns_] if estimator.columns_ is not None else [str(j) for j in range(n)]
    r, c, v = estimator._seen
    v = np.asarray(v, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        row_mean = np.bincount(r, weights=v, minlength=m) / np.bincount(r, minlength=m)
        col_mean = np.bincount(c, weights=v, minlength=n) / np.bincount(c, minlength=n)
    meta = {"method": getattr(estimator, "_method_name", estimator._desc), "lambda": float(estimator.lambda_),
            "rank": int(estimator.rank_), "status": estimator.status_, "train_mean": float(v.mean()),
            "train_range": list(estimator.train_range_), "log1p": False, "rows": m, "cols": n,
            "written_by": "lowrank.save_model"}
    path = os.fspath(path)
    model = estimator.model_
    if np.dtype(estimator._dtype) != np.float64:  # float32 fits are saved in float64, the folder's type
        model = _core.model_to_double(model)
    _core.save_model(path, model, rows, cols, json.dumps(meta))
    os.makedirs(os.path.join(path, "means"), exist_ok=True)
    np.save(os.path.join(path, "means", "row.npy"), row_mean.astype(np.float64))
    np.save(os.path.join(path, "means", "col.npy"), col_mean.astype(np.float64))
    with open(os.path.join(path, "seen.tsv"), "w", encoding="utf-8") as f:
        for i, j, x in zip(r, c, v):
            f.write(f"{rows[i]}\t{cols[j]}\t{x!r}\n")
    return path


def load_model(path):
    """A model folder written by `lowrank complete --out` (or save_model) as a
    fitted estimator: SoftImpute for soft-impute fits, ALS for als /
    robust-als, SoftImpute's interface otherwise. predict, transform of the
    fitted shape, fold_in, score and recommend work; labels are the folder's
    ids (strings; predict(..., labels=True) and recommend(196) find "196")."""
    import json
    import os
    import warnings

    path = os.fspath(path)
    d = _core.load_model(path)
    meta = json.loads(d["metadata"])
    method = meta.get("method", "soft-impute")
    est = ALS() if method in ("als", "robust-als") else SoftImpute()
    model = d["model"]
    est._set_model(model)
    est._method_name = method
    m, n = int(model.rows), int(model.cols)
    est.shape_ = (m, n)
    est.n_features_in_ = n
    est._dtype = np.dtype(np.float64)
    est.index_ = list(d["row_ids"])
    est.columns_ = list(d["col_ids"])
    est.feature_names_in_ = np.asarray(est.columns_, dtype=object)  # ids are strings: scikit-learn's names
    est.lambda_ = float(meta.get("lambda", float("nan")))
    est.status_ = meta.get("status", "success")
    est.warnings_ = []
    est.metadata_ = meta
    est.train_range_ = tuple(meta["train_range"]) if "train_range" in meta else None
    est.clip_range_ = tuple(meta["clip"]) if "clip" in meta else None
    est.cv_results_ = None
    if meta.get("log1p"):
        warnings.warn(f"{path}: the model was fitted with --log1p; predictions are on the log(1 + x) scale")
    where_r = {x: k for k, x in enumerate(est.index_)}
    where_c = {x: k for k, x in enumerate(est.columns_)}
    rr, cc, vv = [], [], []
    seen = os.path.join(path, "seen.tsv")
    if os.path.exists(seen):
        with open(seen, encoding="utf-8") as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                if len(p) >= 2 and p[0] in where_r and p[1] in where_c:
                    rr.append(where_r[p[0]])
                    cc.append(where_c[p[1]])
                    vv.append(float(p[2]) if len(p) > 2 else float("nan"))
    est._seen = (np.asarray(rr, dtype=np.int32), np.asarray(cc, dtype=np.int32), np.asarray(vv, dtype=np.float64))
    est.n_observed_ = len(rr)
    return est
