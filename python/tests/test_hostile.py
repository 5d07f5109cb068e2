"""Hostile input and interrupted work from Python (issue 31): unpickled models
are checked before use, inspect's regex filter runs in linear time, and
Ctrl-C during GAME cross-validation raises KeyboardInterrupt and keeps the best fold fit."""
import json
import pickle
import struct
import time

import numpy as np
import pytest

import lowrank


def _safetensors(path, names):
    header, data = {}, b""
    for n in names:
        b = (np.arange(24, dtype="<f4").reshape(6, 4) + 1).tobytes()
        header[n] = {"dtype": "F32", "shape": [6, 4], "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + data)


def test_inspect_regex_filter_is_linear_and_names_are_capped(tmp_path):
    p = tmp_path / "w.safetensors"
    # std::regex overflowed the stack here (SIGSEGV of the interpreter).
    _safetensors(p, ["a" * 30000, "layer.1"])
    with pytest.raises(ValueError, match="tensor name of 30000 bytes"):
        lowrank.inspect(p, filter="re:.*")
    # Catastrophic backtracking for a backtracking engine: minutes before.
    _safetensors(p, ["a" * 44 + "!", "layer.1"])
    t0 = time.monotonic()
    with pytest.raises(ValueError, match="matches none"):
        lowrank.inspect(p, filter="re:^(a+)+$")
    assert time.monotonic() - t0 < 20
    assert len(lowrank.inspect(p, filter="re:^layer")) == 1
    with pytest.raises(ValueError, match="malformed regular expression"):
        lowrank.inspect(p, filter="re:(a)\\1")


def _fitted_model():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(12, 2)) @ rng.normal(size=(2, 9))
    x[rng.random(x.shape) < 0.2] = np.nan
    return lowrank.SoftImpute(lam=0.5, rank=3).fit(x).model_


def test_unpickled_models_are_validated():
    m = _fitted_model()
    again = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(again.to_dense(), m.to_dense())
    state = m.__getstate__()
    cls = type(m)
    bad_states = {
        "U is": (state[0] + 5,) + state[1:],                      # rows contradict U: predict read out of bounds
        "V is": (state[0], state[1] + 1) + state[2:],             # cols contradict V: to_dense had the wrong shape
        "of rank": state[:3] + (np.append(state[3], 1.0),) + state[4:],  # rank of d differs from U's
        "U holds a NaN": state[:2] + (np.full_like(state[2], np.nan),) + state[3:],
        "row_offset has length": state[:6] + (np.ones(3),) + state[7:],
    }
    for needle, bad in bad_states.items():
        obj = cls.__new__(cls)
        with pytest.raises(ValueError, match=needle):
            obj.__setstate__(bad)


def test_game_ctrl_c_during_cross_validation_raises_keyboard_interrupt(dune_missing):
    m = dune_missing.shape[0]
    groups = {"first": list(range(m // 2)), "second": list(range(m // 2, m))}

    def ctrl_c(event):
        if event["stage"] == "game-cv":
            raise KeyboardInterrupt  # what PyErr_CheckSignals reports after Ctrl-C

    est = lowrank.GAME(groups=groups, cv=3, lambda_path=10, callback=ctrl_c)
    with pytest.raises(KeyboardInterrupt, match="holds the last iterate"):
        est.fit(dune_missing)
    # Interrupted in the first fold: no fit on all entries existed, so the best
    # finished fold fit is kept (as SoftImpute keeps its best fold model).
    assert est.status_ == "interrupted"
    assert "best fold fit" in est.stop_reason_, est.stop_reason_
    assert est.completed_.shape == dune_missing.shape
    assert np.all(np.isfinite(est.completed_))
