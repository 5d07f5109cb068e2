"""lowrank.svd / norms / ranks / angles: against numpy/scipy and the CLI, all layouts and dtypes."""
import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp

import lowrank
from conftest import DATA


def _mite():
    import pandas as pd
    return pd.read_csv(DATA / "mite.csv", index_col=0).to_numpy(dtype=float)


def _aligned(U, ref):
    """Flip column signs of U to match ref (singular vectors are defined up to sign)."""
    return U * np.sign(np.sum(U * ref, axis=0))


@pytest.mark.parametrize("method", ["full", "krylov", "lanczos", "randomized"])
def test_svd_equals_numpy(method):
    a = np.log1p(_mite())
    U, S, V = lowrank.svd(a, 5, method=method, power_iterations=6 if method == "randomized" else -1,
                          tol=1e-12)
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(S, s[:5], rtol=1e-6 if method == "randomized" else 1e-10)
    # krylov stops on the values: its vectors are good to about sqrt(tol)
    atol = {"randomized": 1e-4, "krylov": 1e-5}.get(method, 1e-8)
    np.testing.assert_allclose(_aligned(V, vt[:5].T), vt[:5].T, atol=atol)
    np.testing.assert_allclose(U.T @ U, np.eye(5), atol=1e-10)


def test_svd_default_is_accurate_and_says_so(cli, tmp_path):
    # Planted 1/(1+i) spectrum (the scoreboard's, smaller): the default method
    # meets 1e-8 and its reported bounds hold; the CLI's defaults are the same.
    rng = np.random.default_rng(0)
    u, _ = np.linalg.qr(rng.standard_normal((600, 200)))
    v, _ = np.linalg.qr(rng.standard_normal((350, 200)))
    s = 1.0 / (1.0 + np.arange(200))
    a = (u * s) @ v.T
    info = lowrank.svd_info(a, 15)
    assert info["status"] == "success"
    err = np.abs(info["S"] - s[:15])
    assert np.max(err / s[:15]) <= 1e-8
    assert np.all(err <= info["error_bounds"] + 1e-14)
    assert info["max_relative_error_bound"] <= 1e-8
    direct = np.sqrt(np.sum((a @ info["V"] - info["U"] * info["S"]) ** 2, axis=0)
                     + np.sum((a.T @ info["U"] - info["V"] * info["S"]) ** 2, axis=0))
    np.testing.assert_allclose(info["residuals"], direct, rtol=1e-3, atol=1e-14)
    np.save(tmp_path / "a.npy", a)
    out = cli("decompose", "--input", tmp_path / "a.npy", "--rank", 15, "--out", tmp_path / "d", "--json")
    import json
    j = json.loads(out.stdout if hasattr(out, "stdout") else out)
    assert j["method"] == info["method"]
    np.testing.assert_allclose(np.load(tmp_path / "d_S.npy"), info["S"], rtol=1e-12)
    np.testing.assert_allclose(j["error_bounds"], info["error_bounds"], rtol=1e-6)


def test_svd_equals_cli(cli, tmp_path):
    # Same file, same options -> the CLI's numbers (same library call).
    cli("decompose", "--input", DATA / "mite.csv", "--rank", 4, "--method", "randomized", "--seed", 3,
        "--out", tmp_path / "m")
    U, S, V = lowrank.svd(_mite(), 4, method="randomized", seed=3)
    np.testing.assert_allclose(S, np.load(tmp_path / "m_S.npy"), rtol=1e-12)
    np.testing.assert_allclose(U, np.load(tmp_path / "m_U.npy"), atol=1e-10)
    np.testing.assert_allclose(V, np.load(tmp_path / "m_V.npy"), atol=1e-10)


def test_full_svd_of_every_triplet_equals_numpy():
    # k = min(m, n) by gesdd: the values and vectors numpy's gesdd gives, with
    # LAPACK's a priori bound eps max(m, n) s_1 (explicit residuals would cost
    # a fifth of the SVD at this k, so none are reported) and the per-triplet
    # residuals again once k <= min(m, n) / 4.
    rng = np.random.default_rng(3)
    a = rng.standard_normal((90, 60)) * (0.8 ** np.arange(60))
    ref = np.linalg.svd(a, compute_uv=False)
    info = lowrank.svd_info(a, 60, "full")
    assert info["method"] == "full" and info["status"] == "success"
    np.testing.assert_allclose(info["S"], ref, rtol=1e-12, atol=1e-14 * ref[0])
    bound = np.finfo(float).eps * 90 * ref[0]
    np.testing.assert_allclose(info["error_bounds"], bound, rtol=1e-12)
    assert np.all(np.abs(info["S"] - ref) <= info["error_bounds"])
    assert info["residuals"].size == 0
    np.testing.assert_allclose(a @ info["V"], info["U"] * info["S"], atol=1e-12 * ref[0])
    small = lowrank.svd_info(a, 15, "full")
    assert small["residuals"].size == 15
    assert np.all(np.abs(small["S"] - ref[:15]) <= small["error_bounds"])


def test_svd_layouts_and_dtypes():
    rng = np.random.default_rng(1)
    base = rng.standard_normal((50, 30))
    ref = lowrank.svd(base, 4, method="full")[1]
    big = np.zeros((100, 60))
    big[::2, ::2] = base
    for a in (base, np.asfortranarray(base), big[::2, ::2], base.T.copy().T, base[::-1][::-1]):
        np.testing.assert_allclose(lowrank.svd(a, 4, method="full")[1], ref, rtol=1e-12)
    U32, S32, V32 = lowrank.svd(base.astype(np.float32), 4, method="full")
    assert U32.dtype == S32.dtype == V32.dtype == np.float32
    np.testing.assert_allclose(S32, ref, rtol=1e-5)
    # integers are promoted to float64
    assert lowrank.svd(np.arange(12).reshape(3, 4), 1, method="full")[1].dtype == np.float64


def test_svd_outputs_are_not_copies():
    # Results are the C++ matrices themselves, wrapped (the array does not own a copy).
    U, S, V = lowrank.svd(np.random.default_rng(0).standard_normal((20, 10)), 3, method="full")
    assert not U.flags.owndata and U.base is not None
    assert U.flags.f_contiguous


def test_svd_sparse_equals_dense():
    rng = np.random.default_rng(2)
    d = sp.random(80, 60, density=0.1, random_state=3, format="csr")
    for m in (d, d.tocoo(), d.tocsc()):
        U, S, V = lowrank.svd(m, 5, method="lanczos")
        np.testing.assert_allclose(S, np.linalg.svd(d.toarray(), compute_uv=False)[:5], rtol=1e-9)
    del rng


def test_schatten_and_ranks():
    a = np.random.default_rng(4).standard_normal((30, 20))
    assert lowrank.schatten_norm(a, 1) == pytest.approx(np.linalg.norm(a, "nuc"), rel=1e-12)
    assert lowrank.schatten_norm(a, 2) == pytest.approx(np.linalg.norm(a, "fro"), rel=1e-12)
    assert lowrank.schatten_norm(a, np.inf) == pytest.approx(np.linalg.norm(a, 2), rel=1e-12)
    s = np.linalg.svd(a, compute_uv=False)
    assert lowrank.schatten_norm(s, 3) == pytest.approx(np.sum(s ** 3) ** (1 / 3), rel=1e-12)
    r = lowrank.effective_ranks(a)
    assert r["numerical"] == np.linalg.matrix_rank(a) == 20
    assert r["stable"] == pytest.approx(np.sum(s ** 2) / s[0] ** 2, rel=1e-10)
    p = s / s.sum()
    assert r["entropy"] == pytest.approx(np.exp(-np.sum(p * np.log(p))), rel=1e-10)
    assert lowrank.effective_ranks(s, shape=a.shape)["stable"] == pytest.approx(r["stable"], rel=1e-12)


def test_principal_angles_equal_scipy():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((40, 4)), rng.standard_normal((40, 3))
    ours = np.sort(lowrank.principal_angles(a, b))
    np.testing.assert_allclose(ours, np.sort(scipy.linalg.subspace_angles(a, b)), atol=1e-10)
    # sin_theta_distance is ||P_A - P_B||_2, defined for subspaces of equal dimension
    b4 = np.column_stack([b, rng.standard_normal(40)])
    assert lowrank.sin_theta_distance(a, b4) == pytest.approx(
        np.sin(scipy.linalg.subspace_angles(a, b4).max()), rel=1e-8)
    qa, qb = np.linalg.qr(a)[0], np.linalg.qr(b4)[0]
    assert lowrank.sin_theta_distance(a, b4) == pytest.approx(np.linalg.norm(qa @ qa.T - qb @ qb.T, 2), rel=1e-8)
    with pytest.raises(ValueError, match="dimension 4 and 3"):
        lowrank.sin_theta_distance(a, b)
    assert lowrank.principal_angles(a, a[:, ::-1]).max() < 1e-6


def test_bad_inputs_raise_with_messages():
    a = np.ones((5, 4))
    with pytest.raises(ValueError, match=r"rank k = 9 must be in \[1, min\(m, n\)\]"):
        lowrank.svd(a, 9)
    with pytest.raises(ValueError, match="method must be one of"):
        lowrank.svd(a, 2, method="qr")
    with pytest.raises(TypeError, match="k must be an integer"):
        lowrank.svd(a, 2.5)
    with pytest.raises(TypeError, match="real numeric array"):
        lowrank.svd(a.astype(complex), 2)
    with pytest.raises(ValueError, match="Complex data not supported"):  # also a ValueError, as sklearn expects
        lowrank.svd(a.astype(complex), 2)
    with pytest.raises(TypeError, match="real numeric array"):
        lowrank.svd(np.array([["a", "b"], ["c", "d"]]), 1)
    with pytest.raises(ValueError, match="expected a 2D array"):
        lowrank.svd(np.ones(5), 1)
    b = a.copy()
    b[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"contains NaN at index \(2, 1\)"):
        lowrank.svd(b, 1)
    with pytest.raises(ValueError, match="same number of rows"):
        lowrank.principal_angles(np.ones((4, 2)), np.ones((5, 2)))
    with pytest.raises(ValueError, match="shape="):
        lowrank.effective_ranks(np.ones(3))
