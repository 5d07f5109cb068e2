"""GAME from Python equals `lowrank complete --method game` on the same data."""
import numpy as np
import pandas as pd
import pytest

import lowrank
from conftest import run_json, write_csv


def test_game_equals_cli(cli, tmp_path, dune, dune_env, dune_missing):
    train = write_csv(tmp_path / "dune.csv", dune_missing, dune.index, dune.columns)
    j = run_json(cli, "complete", "--train", train, "--method", "game", "--groups", DATA_ENV(),
                 "--group-cols", "Management,Use", "--lambda", 2.0, "--out", tmp_path / "cli")
    est = lowrank.GAME(groups=dune_env, group_cols=["Management", "Use"], lam=2.0)
    out = est.fit_transform(dune_missing, row_ids=dune.index)
    completed = pd.read_csv(tmp_path / "cli" / "completed.csv", index_col=0).to_numpy()
    np.testing.assert_allclose(out, completed, rtol=1e-8, atol=1e-8)
    assert est.n_iter_ == j["iterations"]
    assert est.group_names_ == [g["name"] for g in j["game"]["groups"]]
    assert [g["rank"] for g in est.groups_] == [g["rank"] for g in j["game"]["groups"]]
    # predictions on the missing cells equal the completed cells
    r, c = np.nonzero(np.isnan(dune_missing))
    np.testing.assert_allclose(est.predict(r, c), completed[r, c], rtol=1e-8, atol=1e-8)
    angles = est.group_angles()
    assert set(angles) == set(est.group_names_) - {"all"}
    assert all(np.all((a >= -1e-12) & (a <= np.pi / 2 + 1e-12)) for a in angles.values())


def DATA_ENV():
    from conftest import DATA
    return DATA / "dune_env.csv"


def test_game_groups_as_dict_and_errors(dune_missing):
    m = dune_missing.shape[0]
    groups = {"first": np.arange(10), "second": np.arange(10, m)}
    est = lowrank.GAME(groups=groups, lam=1.0).fit(dune_missing)
    assert est.group_names_[:2] == ["first", "second"] and est.completed_.shape == dune_missing.shape
    with pytest.raises(ValueError, match="needs groups="):
        lowrank.GAME(lam=1.0).fit(dune_missing)
    with pytest.raises(ValueError, match="outside|row index"):
        lowrank.GAME(groups={"bad": [0, 99]}, lam=1.0).fit(dune_missing)
    with pytest.raises(ValueError, match="not columns"):
        lowrank.GAME(groups=pd.DataFrame({"a": range(m)}), group_cols=["b"], lam=1.0).fit(dune_missing)
    with pytest.raises(ValueError, match="lam must be >"):
        lowrank.GAME(groups=groups, lam=0.0).fit(dune_missing)
    with pytest.raises(ValueError, match="cv_tolerance"):
        lowrank.GAME(groups=groups, cv=2, lambda_path=3, cv_tol=-1.0).fit(dune_missing)
    with pytest.raises(ValueError, match="cv_precision"):
        lowrank.GAME(groups=groups, cv=2, lambda_path=3, cv_precision="half").fit(dune_missing)
    with pytest.raises(ValueError, match="patience"):
        lowrank.GAME(groups=groups, cv=2, lambda_path=3, cv_patience=-1).fit(dune_missing)
    # Old keyword names (before they matched the CLI's --lambda-path, --rank,
    # --cv-patience) still work for one release, with a DeprecationWarning.
    for old, new in (("n_lambdas", "lambda_path"), ("max_rank", "rank"), ("patience", "cv_patience")):
        with pytest.warns(DeprecationWarning, match=f"{old}=.*use {new}="):
            lowrank.GAME(groups=groups, lam=1.0, **{old: 3}).fit(dune_missing)


def test_game_loose_fold_tolerance_keeps_the_refit(dune_missing):
    # the loose fold fits (cv_tol, one sweep per iteration, float: the
    # defaults) barely move the CV curve and, with the same lambda chosen, the
    # refit reaches the same optimum (to its own tolerance)
    groups = {"first": np.arange(10), "second": np.arange(10, dune_missing.shape[0])}
    kw = dict(groups=groups, cv=3, lambda_path=6, tol=1e-6, seed=1, cv_patience=0)
    tight = lowrank.GAME(cv_tol=0.0, cv_sweeps=0, cv_precision="double", **kw).fit(dune_missing)
    loose = lowrank.GAME(**kw).fit(dune_missing)
    a = np.asarray(tight.cv_results_["mean_test_rmse"])
    b = np.asarray(loose.cv_results_["mean_test_rmse"])
    assert 0 < np.max(np.abs(a - b)) < 0.05 * (a.max() - a.min())
    assert tight.lambda_ == loose.lambda_
    scale = np.abs(tight.completed_).max()
    np.testing.assert_allclose(loose.completed_, tight.completed_, rtol=0, atol=1e-4 * scale)


def test_game_defaults_are_the_librarys_and_factored_storage_matches_dense(dune_missing):
    d = lowrank._core.game_defaults()
    est = lowrank.GAME()
    # the estimator's defaults are GamePathOptions' (the CLI's: 1e-4, 1000 iterations)
    assert (est.tol, est.max_iter, est.cv, est.storage) == (d["tol"], d["max_iter"], d["cv"], d["storage"])
    assert (d["tol"], d["max_iter"], d["storage"], d["variant"]) == (1e-4, 1000, "auto", "latent")
    m = dune_missing.shape[0]
    groups = {"first": np.arange(10), "second": np.arange(10, m)}
    kw = dict(groups=groups, lam=1.0, variant="latent", tol=1e-9, max_iter=20000)
    dense = lowrank.GAME(storage="dense", **kw).fit(dune_missing)
    fact = lowrank.GAME(storage="factored", **kw).fit(dune_missing)
    # the same iterates up to rounding (tests/game/factored_test.cpp checks the solver itself)
    np.testing.assert_allclose(fact.completed_, dense.completed_, rtol=1e-6, atol=1e-6)
    assert fact.stop_reason_ == "converged" == dense.stop_reason_
    with pytest.raises(ValueError, match="storage"):
        lowrank.GAME(groups=groups, lam=1.0, storage="sparse").fit(dune_missing)


def test_saved_game_model_predicts_the_fit(cli, tmp_path, dune, dune_env, dune_missing):
    """GAME's model (latent: one part per group) saved by the CLI and by save_model
    loads in Python and predicts what the fit predicts."""
    import json
    train = write_csv(tmp_path / "dune.csv", dune_missing, dune.index, dune.columns)
    run_json(cli, "complete", "--train", train, "--method", "game", "--groups", DATA_ENV(),
             "--group-cols", "Management,Use", "--lambda", 2.0, "--out", tmp_path / "cli")
    est = lowrank.GAME(groups=dune_env, group_cols=["Management", "Use"], lam=2.0)
    est.fit(dune_missing, row_ids=dune.index)
    assert len(est.model_.groups) == len(est.groups_)  # latent: one part per group, "all" included
    loaded = lowrank.load_model(tmp_path / "cli")
    assert json.loads((tmp_path / "cli" / "model.json").read_text())["version"] == 2
    m, n = dune_missing.shape
    r, c = np.divmod(np.arange(m * n), n)
    np.testing.assert_allclose(loaded.predict(r, c), est.completed_[r, c], rtol=1e-8, atol=1e-8)  # as above
    lowrank.save_model(est, tmp_path / "py")
    again = lowrank.load_model(tmp_path / "py")
    np.testing.assert_allclose(again.predict(r, c), est.completed_[r, c], rtol=1e-12, atol=1e-12)
    import pickle
    back = pickle.loads(pickle.dumps(est.model_))
    np.testing.assert_allclose(back.to_dense(), est.completed_, rtol=1e-12, atol=1e-12)


def test_game_weight_cv_keeps_the_lowest_cv_candidate(dune_missing):
    # weight_cv="per-group" (issue 35): the given weights first (their CV is
    # the plain path's), then each group's weight x4; the fit keeps the
    # candidate with the lowest CV RMSE, whose weights the groups report
    m = dune_missing.shape[0]
    groups = {"first": np.arange(10), "second": np.arange(10, m)}
    kw = dict(groups=groups, cv=2, lambda_path=4, center="none", seed=0)
    plain = lowrank.GAME(**kw).fit(dune_missing)
    est = lowrank.GAME(weight_cv="per-group", weight_multipliers=(4.0,), **kw).fit(dune_missing)
    names = [w[0] for w in est.weight_scores_]
    assert names[:2] == ["sqrt-size-plus-sqrt-cols", "first x4"] and names[2].endswith("second x4")
    assert est.weight_scores_[0][2] == plain.cv_results_["mean_test_rmse"][plain.best_index_]
    best = min(est.weight_scores_, key=lambda w: w[2])
    assert est.weighting_ == best[0]
    assert [g["weight"] for g in est.groups_] == list(best[1])
    assert plain.weighting_ == "" and plain.weight_scores_ == []
    with pytest.raises(ValueError, match="weight search needs cross-validation"):
        lowrank.GAME(groups=groups, lam=1.0, weight_cv="schemes").fit(dune_missing)
    with pytest.raises(ValueError, match="weight_cv"):
        lowrank.GAME(groups=groups, weight_cv="grid").fit(dune_missing)
