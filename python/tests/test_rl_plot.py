"""RL functions against the CLI and planted truth; every plot returns a Figure."""
import numpy as np
import pytest

import lowrank
from conftest import run_json


def test_bandit_equals_cli(cli):
    j = run_json(cli, "bandit", "--rows", 10, "--cols", 10, "--rank", 2, "--horizon", 20000, "--seeds", 2,
                 "--seed", 4, "--algorithm", "ucb")
    r = lowrank.bandit(rows=10, cols=10, rank=2, horizon=20000, seeds=2, seed=4, algorithm="ucb")
    assert r["mean_final_regret"] == pytest.approx(j["mean_final_regret"], rel=1e-12)
    assert r["times"][-1] == 20000 and np.all(np.diff(r["mean_regret"]) >= -1e-9)


def test_mdp_equals_cli(cli):
    j = run_json(cli, "mdp", "--states", 20, "--actions", 3, "--rank", 2, "--samples", 20000, "--seed", 1)
    r = lowrank.mdp(states=20, actions=3, rank=2, samples=20000, seed=1)
    assert r["mean_value_gap"] == pytest.approx(j["mean_value_gap"], rel=1e-10, abs=1e-12)
    assert r["mean_kernel_max_error"] == pytest.approx(j["mean_kernel_max_error"], rel=1e-10)


def test_defaults_are_the_librarys_and_the_clis(cli):
    # Issue 27: no front-end holds a default of its own. The Python keywords
    # are the library's (read from its options structs), and with every
    # setting left alone but the length of the run, Python and the CLI give
    # the same numbers.
    import inspect
    for fn, d in ((lowrank.bandit, lowrank._core.bandit_defaults()), (lowrank.mdp, lowrank._core.mdp_defaults()),
                  (lowrank.spectral_estimate, lowrank._core.spectral_estimate_defaults())):
        params = inspect.signature(fn).parameters
        assert d and all(params[k].default == v for k, v in d.items()), (fn.__name__, d)
    b = lowrank._core.bandit_defaults()
    assert (b["rows"], b["cols"], b["rank"], b["gap"], b["algorithm"]) == (20, 20, 2, 0.1, "spectral")
    j = run_json(cli, "bandit", "--horizon", 3000)
    r = lowrank.bandit(horizon=3000)
    assert r["mean_final_regret"] == pytest.approx(j["mean_final_regret"], rel=1e-12)
    j = run_json(cli, "mdp", "--samples", 4000)
    r = lowrank.mdp(samples=4000)
    assert r["mean_value_gap"] == pytest.approx(j["mean_value_gap"], rel=1e-10, abs=1e-12)
    rp = inspect.signature(lowrank.RobustPCA).parameters
    d = lowrank._core.robust_pca_defaults()
    assert (rp["rho"].default, rp["tol"].default, rp["max_iter"].default) == (d["rho"], d["tol"], d["max_iter"]) \
        == (1.5, 1e-7, 1000)
    assert inspect.signature(lowrank.SoftImpute.recommend).parameters["top"].default \
        == lowrank._core.completion_defaults()["recommend_top"] == 10


def test_spectral_estimate_planted():
    rng = np.random.default_rng(0)
    m, n, r = 60, 50, 2
    M = rng.standard_normal((m, r)) @ rng.standard_normal((r, n))
    T = 200000
    rows, cols = rng.integers(0, m, T), rng.integers(0, n, T)
    vals = M[rows, cols] + 0.1 * rng.standard_normal(T)
    est = lowrank.spectral_estimate(rows, cols, vals, (m, n), rank=2)
    fit = est["U"] @ np.diag(est["S"]) @ est["V"].T
    assert est["rank"] == 2
    assert np.linalg.norm(fit - M) / np.linalg.norm(M) < 0.1
    with pytest.raises(ValueError, match="outside the shape"):
        lowrank.spectral_estimate([0, 99], [0, 0], [1.0, 2.0], (m, n))
    with pytest.raises(ValueError, match="expected fixed, threshold or gap"):
        lowrank.spectral_estimate(rows[:10], cols[:10], vals[:10], (m, n), rank_selection="best")


def test_plots_return_figures():
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    rng = np.random.default_rng(1)
    x = rng.standard_normal((30, 3)) @ rng.standard_normal((3, 20))
    x[rng.random(x.shape) < 0.3] = np.nan
    est = lowrank.SoftImpute(cv=3, lambda_path=8, seed=0).fit(x)
    figs = [lowrank.plot.singular_values(est), lowrank.plot.singular_values(np.nan_to_num(x)),
            lowrank.plot.cv_curve(est), lowrank.plot.objective(lowrank.SoftImpute(lam=1, rank=3).fit(x)),
            lowrank.plot.regret([lowrank.bandit(horizon=3000, seeds=2, algorithm=a) for a in ("ucb", "spectral")])]
    assert all(isinstance(f, Figure) for f in figs)
    ax = figs[2].axes[0]
    assert ax.get_xscale() == "log" and len(ax.lines) >= 1
    with pytest.raises(ValueError, match="without cross-validation"):
        lowrank.plot.cv_curve(lowrank.SoftImpute(lam=1, rank=3).fit(x))
    import matplotlib.pyplot as plt
    plt.close("all")


def test_cv_curve_marks_lambdas_reached_by_fewer_folds():
    # Issue 34: a lambda averaged over fewer folds is drawn open and labelled
    # with its fold count; the full rows stay filled.
    import matplotlib
    matplotlib.use("Agg")
    cv = {"param_lam": [8.0, 4.0, 2.0, 1.0, 0.5], "mean_test_rmse": [1.0, 0.8, 0.7, 0.75, 0.9],
          "std_test_rmse": [0.01] * 5, "n_folds": [5, 5, 5, 3, 0]}
    fig = lowrank.plot.cv_curve(cv, best=2.0)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["3/5"]
    assert ax.texts[0].xy == (1.0, 0.75)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "all 5 folds" in legend and "fewer folds (not chosen)" in legend
    # The lambda no fold reached is not drawn: 4 points on the connecting line.
    assert len(ax.lines[0].get_xdata()) == 4
    import matplotlib.pyplot as plt
    plt.close("all")
