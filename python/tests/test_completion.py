"""SoftImpute / ALS / RobustPCA: equal to the CLI on the same data, planted
truth recovered, numpy/scipy round trips, errors, Ctrl-C, GIL."""
import os
import pickle
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import lowrank
from conftest import planted, run_json, write_csv


@pytest.fixture()
def dune_csv(tmp_path, dune, dune_missing):
    return write_csv(tmp_path / "dune_missing.csv", dune_missing, dune.index, dune.columns)


def _load_model(d):
    return {k: np.load(d / f"{k}.npy") for k in ("U", "d", "V")}


def _same_factors(U, d, V, ref, atol=1e-8):
    np.testing.assert_allclose(d, ref["d"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(U @ np.diag(d) @ V.T, ref["U"] @ np.diag(ref["d"]) @ ref["V"].T, atol=atol)


def test_soft_impute_fixed_lambda_equals_cli(cli, tmp_path, dune_csv, dune_missing):
    j = run_json(cli, "complete", "--train", dune_csv, "--lambda", 3, "--rank", 8, "--seed", 1, "--out",
                 tmp_path / "cli")
    est = lowrank.SoftImpute(lam=3, rank=8, seed=1).fit(dune_missing)
    _same_factors(est.row_factors_, est.singular_values_, est.components_.T, _load_model(tmp_path / "cli"))
    assert est.rank_ == j["rank"] and est.n_iter_ == j["iterations"]
    completed = pd.read_csv(tmp_path / "cli" / "completed.csv", index_col=0).to_numpy()
    np.testing.assert_allclose(est.transform(dune_missing), completed, rtol=1e-9, atol=1e-9)


def test_soft_impute_cv_path_equals_cli(cli, tmp_path, dune_csv, dune_missing):
    j = run_json(cli, "complete", "--train", dune_csv, "--seed", 2, "--out", tmp_path / "cli")
    est = lowrank.SoftImpute(seed=2).fit(dune_missing)
    cv = pd.read_csv(tmp_path / "cli" / "cv.csv")
    np.testing.assert_allclose(est.cv_results_["param_lam"], cv["lambda"], rtol=1e-9)
    np.testing.assert_allclose(est.cv_results_["mean_test_rmse"], cv["mean_rmse"], rtol=1e-8)
    assert est.lambda_ == pytest.approx(j["lambda"], rel=1e-12)
    assert est.lambda_ == pytest.approx(j["cv_best_lambda"], rel=1e-12)
    _same_factors(est.row_factors_, est.singular_values_, est.components_.T, _load_model(tmp_path / "cli"))


def test_als_equals_cli(cli, tmp_path, dune_csv, dune_missing):
    run_json(cli, "complete", "--train", dune_csv, "--method", "als", "--rank", 3, "--lambda", 0.1, "--biases",
             "--out", tmp_path / "cli")
    est = lowrank.ALS(rank=3, lam=0.1, biases=True).fit(dune_missing)
    _same_factors(est.row_factors_, est.singular_values_, est.components_.T, _load_model(tmp_path / "cli"))
    np.testing.assert_allclose(est.row_offset_, np.load(tmp_path / "cli" / "row_offset.npy"), atol=1e-9)


def test_als_cv_equals_cli(cli, tmp_path, dune_csv, dune_missing):
    # Issue 34: ALS's L2 weight by CV through the library's one path / CV entry,
    # the same numbers from `complete --method als --cv` and ALS(cv=...).
    j = run_json(cli, "complete", "--train", dune_csv, "--method", "als", "--rank", 3, "--biases", "--cv", 3,
                 "--lambda-path", 8, "--seed", 1, "--out", tmp_path / "cli")
    est = lowrank.ALS(rank=3, biases=True, cv=3, lambda_path=8, seed=1).fit(dune_missing)
    cv = pd.read_csv(tmp_path / "cli" / "cv.csv")
    # the grid, and one refined lambda beside the best on each side
    assert len(cv) == 8 + 2 and (cv["folds"] > 0).all() == (est.cv_results_["n_folds"] > 0).all()
    np.testing.assert_allclose(est.cv_results_["param_lam"], cv["lambda"], rtol=1e-9)
    np.testing.assert_allclose(est.cv_results_["mean_test_rmse"], cv["mean_rmse"], rtol=1e-8, equal_nan=True)
    assert est.lambda_ == pytest.approx(j["cv_best_lambda"], rel=1e-12)
    assert est.lambda_ == pytest.approx(est.cv_results_["param_lam"][est.best_index_], rel=1e-12)
    # The grid starts at the weighted lambda_max (fit.hpp, als_lambda_max) and the chosen lambda
    # is the argmin of the lambdas every fold reached.
    assert est.lambda_max_ == pytest.approx(j["lambda_max"], rel=1e-12)
    assert cv["lambda"][0] == pytest.approx(j["lambda_max"], rel=1e-9)  # cv.csv holds 10 digits
    full = cv["folds"] == cv["folds"].max()
    assert est.lambda_ == pytest.approx(cv["lambda"][full][cv["mean_rmse"][full].idxmin()], rel=1e-9)
    _same_factors(est.row_factors_, est.singular_values_, est.components_.T, _load_model(tmp_path / "cli"))
    with pytest.raises(ValueError, match="cv must be"):
        lowrank.ALS(cv=1).fit(dune_missing)


def test_als_spectral_init_equals_cli(cli, tmp_path, dune_csv, dune_missing):
    run_json(cli, "complete", "--train", dune_csv, "--method", "als", "--rank", 3, "--lambda", 0.1,
             "--als-init", "spectral", "--max-iter", 3, "--out", tmp_path / "cli")
    est = lowrank.ALS(rank=3, lam=0.1, init="spectral", max_iter=3).fit(dune_missing)
    _same_factors(est.row_factors_, est.singular_values_, est.components_.T, _load_model(tmp_path / "cli"))
    with pytest.raises(ValueError):
        lowrank.ALS(rank=3, init="svd").fit(dune_missing)


def test_float32_keyword_equals_cli_and_double(cli, tmp_path, dune_csv, dune_missing):
    # float32 stores the values and runs the solver in single precision: the
    # same fit as the CLI's --float32, within 1e-4 of the double fit.
    run_json(cli, "complete", "--train", dune_csv, "--method", "als", "--rank", 3, "--lambda", 0.1, "--float32",
             "--out", tmp_path / "cli")
    est = lowrank.ALS(rank=3, lam=0.1, float32=True).fit(dune_missing)
    _same_factors(est.row_factors_, est.singular_values_, est.components_.T, _load_model(tmp_path / "cli"))
    double = lowrank.ALS(rank=3, lam=0.1).fit(dune_missing)
    np.testing.assert_allclose(est.singular_values_, double.singular_values_, rtol=1e-4)
    si32 = lowrank.SoftImpute(lam=2.0, rank=5, float32=True).fit(dune_missing)
    si64 = lowrank.SoftImpute(lam=2.0, rank=5).fit(dune_missing)
    np.testing.assert_allclose(si32.singular_values_, si64.singular_values_, rtol=1e-4)


def test_robust_pca_equals_cli(cli, tmp_path, dune_csv, dune_missing):
    run_json(cli, "complete", "--train", dune_csv, "--method", "rpca", "--out", tmp_path / "cli")
    est = lowrank.RobustPCA().fit(dune_missing)
    np.testing.assert_allclose(est.low_rank_, np.load(tmp_path / "cli" / "L.npy"), atol=1e-9)
    np.testing.assert_allclose(est.sparse_, np.load(tmp_path / "cli" / "S.npy"), atol=1e-9)
    # One model (issue 27): L's SVD with S as its sparse part; model_.predict is L + S,
    # the folder holds the same sparse part, and pickling keeps it.
    r, c, v = est.model_.sparse
    assert len(v) == np.count_nonzero(est.sparse_) > 0
    np.testing.assert_allclose(est.sparse_[r, c], v, atol=0)
    np.testing.assert_allclose(est.model_.predict(r.astype(np.int32), c.astype(np.int32)),
                               est.low_rank_[r, c] + v, atol=1e-9)
    saved = np.load(tmp_path / "cli" / "sparse.npy")
    dense = np.zeros_like(est.sparse_)
    dense[saved[:, 0].astype(int), saved[:, 1].astype(int)] = saved[:, 2]
    np.testing.assert_allclose(dense, est.sparse_, atol=1e-9)
    back = pickle.loads(pickle.dumps(est.model_))
    np.testing.assert_array_equal(back.sparse[2], v)


def test_robust_pca_predict_is_the_clis(cli, tmp_path, dune, dune_csv, dune_missing):
    # One predict (issue 27): RobustPCA.predict is `lowrank predict` on the
    # CLI's folder, L + S: the data's fit on observed cells, L on missing ones.
    run_json(cli, "complete", "--train", dune_csv, "--method", "rpca", "--out", tmp_path / "cli")
    est = lowrank.RobustPCA().fit(dune_missing)
    seen = ~np.isnan(dune_missing)
    r, c = np.nonzero(np.ones_like(seen))
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{dune.index[i]}\t{dune.columns[j]}\n" for i, j in zip(r, c)))
    out = run_json(cli, "predict", "--model", tmp_path / "cli", "--pairs", pairs)
    got = np.array([p["prediction"] for p in out["predictions"]])
    np.testing.assert_allclose(est.predict(r, c), got, atol=1e-9)
    full = est.predict(dune_missing)
    np.testing.assert_allclose(full, est.low_rank_ + est.sparse_, atol=1e-12)
    assert np.count_nonzero(est.sparse_[~seen]) == 0
    np.testing.assert_allclose(full[~seen], est.low_rank_[~seen], atol=1e-12)
    # on observed cells the fit reproduces the data (P_Omega(D) = P_Omega(L + S)
    # up to the ALM residual, tol 1e-7 relative), which L alone does not
    np.testing.assert_allclose(full[seen], dune_missing[seen], atol=1e-4)
    s = est.sparse_ != 0
    assert np.abs(full[s] - est.low_rank_[s]).max() > 0.1
    # transform keeps observed cells and fills missing ones with L
    np.testing.assert_allclose(est.transform(dune_missing)[~seen], est.low_rank_[~seen], atol=1e-12)


def test_elapsed_is_the_solver_time_of_this_fit():
    # elapsed_s_ is measured inside C++ for this very fit: positive, and below
    # the wall time of the Python call that contains it.
    _, X = planted(60, 50, 3, 0.5, seed=4)
    for est in (lowrank.SoftImpute(lam=1.0, rank=10), lowrank.ALS(rank=3, lam=0.1)):
        t0 = time.perf_counter()
        est.fit(X)
        wall = time.perf_counter() - t0
        assert 0 < est.elapsed_s_ <= wall


def test_planted_truth_recovered():
    truth, x = planted(m=80, n=50, r=3, missing=0.5, seed=3)
    est = lowrank.SoftImpute(lam=0.1, rank=10, tol=1e-9, max_iter=2000, cv=0).fit(x)
    assert est.status_ == "success", est.status_
    err = np.linalg.norm(est.transform(x) - truth) / np.linalg.norm(truth)
    assert err < 1e-2, err
    als = lowrank.ALS(rank=3, lam=1e-6, weighting="uniform", tol=1e-12, max_iter=500).fit(x)
    full = als.model_.to_dense()
    assert np.linalg.norm(full - truth) / np.linalg.norm(truth) < 1e-3
    # predict() agrees with the dense fit
    r, c = np.array([0, 5, 79]), np.array([0, 49, 3])
    np.testing.assert_allclose(als.predict(r, c), full[r, c], rtol=1e-10)


def test_layouts_dtypes_and_sparse_round_trips():
    _, x = planted(m=40, n=30, r=2, missing=0.3, seed=4)
    ref = lowrank.SoftImpute(lam=0.5, rank=5).fit(x).transform(x)
    big = np.full((80, 60), 7.0)
    big[::2, ::2] = x
    for a in (np.asfortranarray(x), big[::2, ::2], pd.DataFrame(x)):
        np.testing.assert_allclose(lowrank.SoftImpute(lam=0.5, rank=5).fit(a).transform(a), ref, rtol=1e-10)
    # float32 in -> float32 computation and output
    e32 = lowrank.SoftImpute(lam=0.5, rank=5).fit(x.astype(np.float32))
    assert e32.components_.dtype == np.float32
    assert e32.transform(x.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(e32.transform(x.astype(np.float32)), ref, rtol=1e-3, atol=1e-3)
    # scipy.sparse: stored entries are the observed ones
    obs = ~np.isnan(x)
    r, c = np.nonzero(obs)
    coo = sp.coo_matrix((x[r, c], (r, c)), shape=x.shape)
    for s in (coo, coo.tocsr()):
        est = lowrank.SoftImpute(lam=0.5, rank=5).fit(s)
        np.testing.assert_allclose(est.transform(s), ref, rtol=1e-10)


def test_sklearn_api():
    from sklearn.base import clone
    _, x = planted(m=30, n=20, r=2, missing=0.3, seed=5)
    est = lowrank.SoftImpute(lam=1.0, rank=4)
    assert est.get_params()["lam"] == 1.0
    est.set_params(lam=2.0, rank=3)
    assert est.lam == 2.0 and clone(est).rank == 3
    with pytest.raises(ValueError, match="Invalid parameter"):
        est.set_params(lamda=1.0)
    out = est.fit_transform(x)
    assert est.components_.shape == (est.rank_, 20) and est.singular_values_.shape == (est.rank_,)
    assert est.n_iter_ > 0 and est.lambda_ == 2.0 and est.cv_results_ is None
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.transform(x), out)
    assert not np.isnan(out).any()
    np.testing.assert_array_equal(out[~np.isnan(x)], x[~np.isnan(x)])


def test_bad_inputs():
    _, x = planted(m=20, n=10, r=2, missing=0.2, seed=6)
    with pytest.raises(ValueError, match="lam must be >= 0"):
        lowrank.SoftImpute(lam=-1).fit(x)
    with pytest.raises(TypeError, match="rank must be an integer"):
        lowrank.SoftImpute(rank=2.5).fit(x)
    # rank is a cap: above min(m, n) the library clips it (as R softImpute does; the default 50 is one).
    capped = lowrank.SoftImpute(lam=1, rank=60, cv=0).fit(x)
    assert 0 < capped.rank_ <= 10 and capped.status_ == "success", capped.warnings_
    with pytest.raises(ValueError, match="rank=11 exceeds min"):  # a hard rank cannot be clipped silently
        lowrank.ALS(rank=11).fit(x)
    with pytest.raises(ValueError, match="n_samples=1"):
        lowrank.SoftImpute(lam=1).fit(x[:1])
    with pytest.raises(ValueError, match="variant must be one of"):
        lowrank.SoftImpute(variant="qr").fit(x)
    bad = x.copy()
    bad[3, 4] = np.inf
    with pytest.raises(ValueError, match=r"infinity at index \(3, 4\)"):
        lowrank.SoftImpute(lam=1).fit(bad)
    with pytest.raises(ValueError, match="every cell is missing"):
        lowrank.SoftImpute(lam=1).fit(np.full((3, 3), np.nan))
    with pytest.raises(TypeError, match="real numeric array"):
        lowrank.ALS().fit(np.array([["a"]]))
    with pytest.raises(ValueError, match="expected a 2D array"):
        lowrank.ALS().fit(np.ones(4))
    dup = sp.coo_matrix((np.ones(3), ([0, 0, 1], [1, 1, 2])), shape=(3, 3))
    with pytest.raises(ValueError, match="duplicate"):
        lowrank.SoftImpute(lam=0.1, rank=2).fit(dup)
    est = lowrank.SoftImpute(lam=1, rank=3).fit(x)
    assert est.transform(x[:5]).shape == (5, x.shape[1])  # other rows: folded in (test_inputs_sklearn.py)
    with pytest.raises(ValueError, match="transductive"):
        lowrank.RobustPCA(max_iter=50).fit(x).transform(x[:5])
    with pytest.raises(ValueError, match="outside"):
        est.predict([0, 20], [0, 0])
    with pytest.raises(TypeError, match="integer array"):
        est.predict([0.5], [0])
    with pytest.raises(ValueError, match="not fitted"):
        lowrank.ALS().predict([0], [0])


def test_callback_and_errors_from_it():
    _, x = planted(m=30, n=20, r=2, missing=0.3, seed=7)
    events = []
    lowrank.SoftImpute(lam=1, rank=4, callback=events.append).fit(x)
    assert events and {"stage", "iteration", "objective", "rank"} <= set(events[0])

    def boom(ev):
        raise RuntimeError("stop here")
    with pytest.raises(RuntimeError, match="stop here"):
        lowrank.SoftImpute(lam=1, rank=4, callback=boom).fit(x)


def _slow_problem():
    _, x = planted(m=400, n=300, r=20, missing=0.5, noise=0.1, seed=8)
    return x


def test_ctrl_c_interrupts_and_keeps_last_iterate():
    x = _slow_problem()
    est = lowrank.SoftImpute(lam=0.01, rank=60, tol=0.0, max_iter=100000)
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    t0 = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        est.fit(x)
    elapsed = time.perf_counter() - t0
    timer.cancel()
    assert elapsed < 10, elapsed
    assert est.status_ == "interrupted" and est.rank_ > 0 and 0 < est.n_iter_ < 100000


def test_gil_is_released_during_fit():
    x = _slow_problem()
    est = lowrank.SoftImpute(lam=0.01, rank=40, tol=0.0, max_iter=40)
    ticks = []
    th = threading.Thread(target=est.fit, args=(x,))
    t0 = time.perf_counter()
    th.start()
    while th.is_alive():
        ticks.append(time.perf_counter())
        time.sleep(0.01)
    th.join()
    total = time.perf_counter() - t0
    # With the GIL held for the whole fit the loop could not tick at all.
    assert total < 0.2 or len(ticks) > 0.3 * total / 0.01, (len(ticks), total)


def test_cv_scaling_moves_the_chosen_lambda_up_and_is_validated():
    # Two folds see half the entries each; with "sqrt" they fit at
    # lambda / sqrt(2) (about), so CV settles on a larger grid lambda.
    rng = np.random.default_rng(4)
    truth = rng.uniform(-1, 1, (60, 3)) @ rng.uniform(-1, 1, (3, 50))
    x = truth + rng.normal(size=truth.shape)
    x[rng.random(x.shape) < 0.5] = np.nan
    kw = dict(cv=2, lambda_path=20, min_ratio=0.05, rank=25, tol=1e-6, max_iter=1000, patience=0)
    plain = lowrank.SoftImpute(cv_scaling="none", **kw).fit(x)
    scaled = lowrank.SoftImpute(**kw).fit(x)
    assert scaled.lambda_ > 1.2 * plain.lambda_
    # The same 20-point grid (each table adds refined lambdas around its own best).
    assert scaled.lambda_max_ == pytest.approx(plain.lambda_max_, rel=1e-12)
    grid = plain.lambda_max_ * 0.05 ** (np.arange(20) / 19)
    for est in (plain, scaled):
        lam = est.cv_results_["param_lam"]
        assert all(np.min(np.abs(lam - g)) <= 1e-9 * g for g in grid)
    with pytest.raises(ValueError, match="cv_scaling"):
        lowrank.SoftImpute(cv_scaling="linear").fit(x)


def test_defaults_are_the_librarys():
    d = lowrank._core.completion_defaults()
    p = lowrank.SoftImpute().get_params()
    assert p["rank"] == d["max_rank"] == 50 and p["cv"] == d["cv"] and p["centering"] == d["centering"] == "auto"
    assert lowrank.ALS().get_params()["rank"] == d["als_rank"]
    # String choices too (issue 27): AlsOptions' init / weighting, SoftImputeOptions' variant.
    als = lowrank.ALS().get_params()
    assert als["init"] == d["als_init"] == "random" and als["weighting"] == d["als_weighting"] == "frequency"
    assert p["variant"] == d["variant"] == "als"
    assert lowrank._core.svd_defaults()["method"] == "auto"
    assert lowrank._core.read_defaults()["duplicates"] == "error"


def _planted_ratings(m=150, n=120, frac=0.15, seed=3):
    rng = np.random.default_rng(seed)
    truth = 3.5 + 0.5 * rng.standard_normal((m, 1)) + 0.5 * rng.standard_normal((1, n)) \
        + 0.36 * rng.standard_normal((m, 2)) @ rng.standard_normal((2, n))
    seen = rng.random((m, n)) < frac
    x = np.where(seen, truth + 0.5 * rng.standard_normal((m, n)), np.nan)
    return truth, seen, x


def _bias_baseline(x, shrink=5.0, sweeps=15):
    seen = ~np.isnan(x)
    mu = np.nanmean(x)
    b, c = np.zeros(x.shape[0]), np.zeros(x.shape[1])
    r = np.where(seen, x - mu, 0.0)
    for _ in range(sweeps):
        c = ((r - b[:, None]) * seen).sum(0) / (seen.sum(0) + shrink)
        b = ((r - c[None, :]) * seen).sum(1) / (seen.sum(1) + shrink)
    return mu + b[:, None] + c[None, :]


def test_defaults_beat_the_bias_baseline_on_planted_ratings():
    truth, seen, x = _planted_ratings()
    est = lowrank.SoftImpute().fit(x)
    hidden = ~seen
    ours = np.sqrt(np.mean((est.transform(x)[hidden] - truth[hidden]) ** 2))
    base = np.sqrt(np.mean((_bias_baseline(x)[hidden] - truth[hidden]) ** 2))
    assert est.centering_ == "biases" and set(est.centering_scores_) == {"none", "biases"}
    assert ours < 0.9 * base, (ours, base)
    assert est.status_ == "success" and est.caps_bound_ == [], est.stop_reason_


def test_ctrl_c_during_cv_keeps_the_best_fold_fit():
    x = _slow_problem()
    est = lowrank.SoftImpute()
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        est.fit(x)
    timer.cancel()
    assert est.status_ == "interrupted" and "cross-validation" in est.stop_reason_, est.stop_reason_
    # A usable model of X's shape (early on it can be the bias model itself, rank 0: the biases
    # candidate runs first), never an empty one.
    assert est.model_.rows == x.shape[0] and est.transform(x).shape == x.shape
    seen = ~np.isnan(x)
    assert np.sqrt(np.mean((est.transform(x) - np.nan_to_num(x))[seen] ** 2)) < np.nanstd(x)


def test_keywords_renamed_to_the_cli_flags_still_accept_the_old_names():
    # Issue 34: keywords are the CLI's flags (--rank, --lambda-path, --centering,
    # --cv-patience); the old names work for one release with a DeprecationWarning
    # and give the same fit.
    import warnings
    _, x = planted(m=30, n=20, r=2, missing=0.3, seed=3)
    new = lowrank.SoftImpute(rank=4, lambda_path=6, cv=2, seed=1).fit(x)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = lowrank.SoftImpute(max_rank=4, n_lambdas=6, cv=2, seed=1).fit(x)
    said = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert any("max_rank=" in m and "use rank= (the CLI's --rank)" in m for m in said), said
    assert any("n_lambdas=" in m and "use lambda_path=" in m for m in said), said
    assert old.lambda_ == new.lambda_ and old.rank_ == new.rank_
    np.testing.assert_allclose(old.transform(x), new.transform(x))
    assert len(new.cv_results_["param_lam"]) == len(old.cv_results_["param_lam"])
    with pytest.warns(DeprecationWarning, match="use centering='center'"):
        lowrank.SoftImpute(lam=1, scaling="center", cv=0).fit(x)
    with pytest.warns(DeprecationWarning, match="n_lambdas"):
        lowrank.ALS(rank=2, cv=2, n_lambdas=4, seed=1).fit(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the new names warn about nothing
        lowrank.SoftImpute(rank=4, lambda_path=6, cv=2, seed=1).fit(x)
        lowrank.ALS(rank=2, cv=2, lambda_path=4, seed=1).fit(x)
    # The old names stay parameters, so get_params / clone carry them.
    from sklearn.base import clone
    assert clone(lowrank.SoftImpute(max_rank=3)).get_params()["max_rank"] == 3
    assert lowrank.SoftImpute().get_params()["max_rank"] == "deprecated"
