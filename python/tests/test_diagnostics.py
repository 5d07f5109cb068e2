"""lowrank.inspect against numpy's SVD and the CLI; the training-loss plot on a real `lowrank train` log."""
import numpy as np
import pytest

import lowrank
from conftest import ROOT, run_json


def _planted(tmp_path):
    rng = np.random.default_rng(3)
    u, _ = np.linalg.qr(rng.standard_normal((40, 6)))
    v, _ = np.linalg.qr(rng.standard_normal((25, 6)))
    s = np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.25])
    w = (u * s) @ v.T  # exactly rank 6
    np.save(tmp_path / "w.npy", w)
    return w, s


def test_inspect_matches_numpy(tmp_path):
    w, s = _planted(tmp_path)
    df = lowrank.inspect(tmp_path / "w.npy", with_values=True)
    assert len(df) == 1
    r = df.iloc[0]
    assert (r["rows"], r["cols"]) == (40, 25)
    assert r["numerical_rank"] == 6
    sv = np.linalg.svd(w, compute_uv=False)
    np.testing.assert_allclose(r["singular_values"][:6], sv[:6], rtol=1e-12)
    assert r["spectral"] == pytest.approx(5.0, rel=1e-12)
    assert r["frobenius"] == pytest.approx(np.linalg.norm(w), rel=1e-12)
    assert r["nuclear"] == pytest.approx(s.sum(), rel=1e-12)
    assert r["stable_rank"] == pytest.approx((s ** 2).sum() / 25.0, rel=1e-12)
    p = s / s.sum()
    assert r["entropy_rank"] == pytest.approx(np.exp(-(p * np.log(p)).sum()), rel=1e-10)
    assert r["schatten_0.5"] == pytest.approx((s ** 0.5).sum(), rel=1e-12)
    assert "bound" in df.attrs and df.attrs["report"]["layers"][0]["name"] == r["name"]


def test_inspect_equals_cli(cli, tmp_path):
    _planted(tmp_path)
    j = run_json(cli, "inspect", tmp_path / "w.npy")
    df = lowrank.inspect(tmp_path / "w.npy")
    for k in ("stable_rank", "entropy_rank", "participation_ratio", "nuclear", "spectral"):
        assert df.iloc[0][k] == pytest.approx(j["layers"][0][k], rel=1e-12), k


def test_inspect_bad_input(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        lowrank.inspect(tmp_path / "absent.safetensors")
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY\x01\x00garbage")
    with pytest.raises(ValueError):
        lowrank.inspect(tmp_path / "bad.npy")


def test_training_loss_plot_from_cli_log(cli, tmp_path):
    data = ROOT / "data" / "text" / "tinyshakespeare_head.txt"
    cli("train", "--data", data, "--layers", 1, "--heads", 2, "--width", 32, "--context", 16, "--batch", 4,
        "--steps", 6, "--eval-interval", 3, "--eval-batches", 1, "--checkpoint", tmp_path / "ck",
        "--log", tmp_path / "log.csv", "-q")
    fig = lowrank.plot.training_loss(tmp_path / "log.csv", labels=["tiny"])
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2  # train and validation
    assert len(lines[0].get_xdata()) == 6
    # The engine checkpoint inspects like any weight file.
    df = lowrank.inspect(tmp_path / "ck")
    assert len(df) > 0 and (df["numerical_rank"] >= 1).all()
    with pytest.raises(ValueError, match="lacks column"):
        import pandas as pd
        lowrank.plot.training_loss(pd.DataFrame({"step": [1], "loss": [2.0]}))
