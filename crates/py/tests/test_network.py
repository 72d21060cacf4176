"""`Network` steps the continuous-time engine as the experiments of `apical run` do, and checks
every array that goes in."""

import math

import numpy as np
import pytest

import apical

# A short Fig. 1 run with one fixed input and target: 300 ms, the target on from 100 to 250 ms.
FIG1 = {
    "experiment.fig1.duration_ms": 300.0,
    "experiment.fig1.target_on_ms": 100.0,
    "experiment.fig1.target_off_ms": 250.0,
    "experiment.fig1.record_ms": 5.0,
    "experiment.fig1.checkpoint_ms": 300.0,
    "experiment.fig1.inputs": {"uniform": {"low": 0.5, "high": 0.5}},
    "experiment.fig1.target_rates": {"uniform": {"low": 0.7, "high": 0.7}},
}


def fig1_config():
    cfg = apical.Config.preset("fig1")
    cfg.update(FIG1)
    return cfg


def test_a_network_stepped_from_python_equals_the_binarys_fig1_run(cli_run, tmp_path):
    cfg = fig1_config()
    theirs, metrics = cli_run(cfg, tmp_path)

    net = apical.Network(cfg)
    dt = net.dt
    n0, n_out = cfg.sizes[0], cfg.sizes[-1]
    target = np.full(n_out, math.log(0.7 / (1 - 0.7)))
    # The run's protocol: the input from the start, the target switched on and off.
    net.step(round(100.0 / dt), input=np.full(n0, 0.5))
    net.step(round(150.0 / dt), target=target)
    net.set_target(None)
    net.step(round(50.0 / dt))
    assert net.steps == 3000 and net.time_ms == pytest.approx(300.0)

    ours = net.weights()
    assert sorted(ours) == sorted(theirs.files)
    for name in theirs.files:
        assert ours[name].tobytes() == theirs[name].tobytes(), name
    assert net.apical_sq_norm() == metrics["apical_sq"][-1]
    assert net.interneuron_mismatch() == metrics["mismatch"][-1]
    assert net.state()["r_2"][0] == metrics["r_out_1"][-1]


def test_run_patterns_records_what_step_gives():
    cfg = fig1_config()
    inputs = np.random.default_rng(0).uniform(0, 1, (3, 30))
    targets = np.random.default_rng(1).uniform(-1, 1, (3, 10))
    a = apical.Network(cfg)
    rec = a.run_patterns(inputs, targets, pattern_ms=20.0, record=["u_2", "v_apical_1"], every=10)
    assert rec["t_ms"].shape == (60,) and rec["u_2"].shape == (60, 10) and rec["v_apical_1"].shape == (60, 20)
    b = apical.Network(cfg)
    row = 0
    for x, t in zip(inputs, targets):
        b.set_input(x)
        b.set_target(t)
        for _ in range(20):
            b.step(10)
            assert b.time_ms == rec["t_ms"][row]
            assert b.state()["u_2"].tobytes() == rec["u_2"][row].tobytes()
            assert b.state()["v_apical_1"].tobytes() == rec["v_apical_1"][row].tobytes()
            row += 1
    assert a.weights()["w_up_1"].tobytes() == b.weights()["w_up_1"].tobytes()


def test_settle_reaches_the_self_predicting_steady_state():
    net = apical.Network(fig1_config())
    sweeps = net.settle(np.full(30, 0.5))
    assert 0 < sweeps < 10_000
    # Fig. 1 starts self-predicting: without a target the apical compartments are silent.
    assert net.apical_sq_norm() < 1e-20
    state = net.state()
    assert set(net.state_names()) == set(state)
    assert np.array_equal(state["r_0"], np.full(30, 0.5))


def test_weights_survive_numpy_to_rust_to_numpy_unchanged():
    net = apical.Network(fig1_config())
    rng = np.random.default_rng(7)
    new = {name: rng.standard_normal(w.shape) * 1e-3 for name, w in net.weights().items()}
    # Values that a float32 or a decimal round trip would change, and a Fortran-ordered array.
    new["w_up_1"][0, 0] = 1 / 3
    new["w_up_1"][1, 2] = 5e-324
    new["w_pi_1"] = np.asfortranarray(new["w_pi_1"])
    net.set_weights(new)
    back = net.weights()
    for name, w in new.items():
        assert back[name].shape == w.shape and back[name].dtype == np.float64
        assert np.ascontiguousarray(back[name]).tobytes() == np.ascontiguousarray(w).tobytes(), name
    # A transposed view is read by its indices, not its memory.
    net.set_weights({"w_down_1": np.ascontiguousarray(new["w_down_1"].T).T})
    assert np.array_equal(net.weights()["w_down_1"], new["w_down_1"])


def test_bad_arrays_raise_a_clear_error_and_change_nothing():
    net = apical.Network(fig1_config())
    before = net.weights()
    w = before["w_up_1"]
    with pytest.raises(ValueError, match=r"w_up_1: expected shape \(20, 30\), got \[30, 20\]"):
        net.set_weights({"w_up_1": w.T.copy()})
    with pytest.raises(TypeError, match="w_up_1: expected dtype float64, got float32 \\(convert with .astype\\(numpy.float64\\)\\)"):
        net.set_weights({"w_up_1": w.astype(np.float32)})
    with pytest.raises(TypeError, match="w_up_1: expected dtype float64, got int64"):
        net.set_weights({"w_up_1": w.astype(np.int64)})
    bad = w.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match=r"w_up_1: the entry at \[3, 4\] is NaN, not a finite number"):
        net.set_weights({"w_down_1": before["w_down_1"] * 2, "w_up_1": bad})
    with pytest.raises(KeyError, match="w_up_9: the network has no such weight matrix"):
        net.set_weights({"w_up_9": w})
    for name, m in net.weights().items():
        assert np.array_equal(m, before[name]), f"a refused set_weights changed {name}"

    with pytest.raises(ValueError, match=r"input: expected shape \(30,\), got \[29\]"):
        net.step(1, input=np.zeros(29))
    with pytest.raises(ValueError, match=r"target: the entry at \[2\] is inf, not a finite number"):
        net.step(1, target=np.array([0, 0, np.inf] + [0] * 7, dtype=np.float64))
    with pytest.raises(TypeError, match="input: expected a numpy array of float64, got str"):
        net.set_input("0.5")
    with pytest.raises(ValueError, match="inputs: expected a 2-dimensional array"):
        net.run_patterns(np.zeros(30))
    with pytest.raises(ValueError, match="record: no state vector 'u_7'"):
        net.run_patterns(np.zeros((1, 30)), record=["u_7"])
    with pytest.raises(ValueError, match="pattern_ms: must be at least one time step"):
        net.run_patterns(np.zeros((1, 30)), pattern_ms=0.0)
    assert net.steps == 0


def test_a_diverging_network_raises_instead_of_crashing():
    net = apical.Network(fig1_config())
    net.set_weights({"w_up_1": np.full((20, 30), 1e308)})
    with pytest.raises(RuntimeError, match="not finite|diverged"):
        net.step(100, input=np.full(30, 0.5))


def test_a_network_refuses_f32_storage():
    cfg = fig1_config()
    cfg.set("plasticity.precision", "f32")
    with pytest.raises(ValueError, match="plasticity.precision: a Network stores f64 weights"):
        apical.Network(cfg)
