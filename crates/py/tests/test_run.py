"""A run from Python gives what `apical run` gives, bit for bit."""

import json

import numpy as np

import apical

# A quick run shortened further: 100 patterns of 100 ms, 10^5 Euler steps.
SETS = {"experiment.fig-s1.patterns": 100, "experiment.fig-s1.record_every": 10}


def quick_config(seed):
    cfg = apical.Config.preset("quick")
    cfg.update({**SETS, "seed": seed})
    return cfg


def test_presets_are_those_of_the_binary(cli):
    listed = [line.split()[0] for line in cli("presets").stdout.splitlines()]
    assert list(apical.presets()) == listed
    assert "quick" in apical.presets()


def test_a_preset_run_equals_the_binary_bit_for_bit(cli, tmp_path):
    seed = 3
    sets = [a for k, v in SETS.items() for a in ("--set", f"{k}={v}")]
    cli("run", "--preset", "quick", "--seed", seed, *sets, "--out", tmp_path / "cli", "--quiet")
    result = apical.run(quick_config(seed), out=tmp_path / "py", progress=False)

    theirs = apical.read_metrics(tmp_path / "cli" / "metrics.csv")
    ours = result.metrics
    ours = {k: np.asarray(ours[k]) for k in ours}
    assert list(ours) == list(theirs)
    assert len(ours["apical_sq"]) == 100 // 10 + 1  # a row at the start and every 10 patterns
    for name in theirs:
        assert ours[name].tobytes() == theirs[name].tobytes(), name
    # The files are the same too, the configuration's hash in summary.json included.
    assert (tmp_path / "py" / "metrics.csv").read_bytes() == (tmp_path / "cli" / "metrics.csv").read_bytes()
    cli_summary = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert result.summary == cli_summary["values"]
    assert [list(r) for r in result.table] == cli_summary["table"]
    assert cli_summary["config_sha256"] == json.loads((tmp_path / "py" / "summary.json").read_text())["config_sha256"]
    assert result.files[-1].name == "summary.json" and all(f.is_file() for f in result.files)


def test_another_seed_gives_other_metrics(tmp_path):
    a = apical.run(quick_config(1), out=tmp_path / "a", progress=False).metrics
    b = apical.run(quick_config(2), out=tmp_path / "b", progress=False).metrics
    assert not np.array_equal(np.asarray(a["apical_sq"]), np.asarray(b["apical_sq"]))


def test_a_run_without_out_writes_into_a_new_folder():
    result = apical.run(quick_config(0), progress=False)
    assert result.out.is_dir() and (result.out / "metrics.csv").is_file()
    assert result.summary["apical_sq_start"] > result.summary["apical_sq_end"]


def test_fig2_metrics_are_one_table_per_learner_as_the_binary_writes_them(cli, tmp_path):
    cfg = apical.Config.preset("fig2-short")
    cfg.update(
        {
            "experiment.fig2.patterns": 20,
            "experiment.fig2.record_every": 10,
            "experiment.fig2.seeds": 1,
            "experiment.fig2.test_patterns": 10,
            "experiment.fig2.trace_patterns": 2,
            "experiment.fig2.checkpoint_every": 20,
        }
    )
    (tmp_path / "fig2.toml").write_text(cfg.to_toml())
    cli("run", tmp_path / "fig2.toml", "--out", tmp_path / "cli", "--quiet")
    metrics = apical.run(cfg, out=tmp_path / "py", progress=False).metrics
    assert list(metrics) == ["microcircuit", "shallow", "backprop", "feedback-alignment"]
    for learner, table in metrics.items():
        theirs = apical.read_metrics(tmp_path / "cli" / f"{learner}.csv")
        assert list(table) == list(theirs) and len(theirs["pattern"]) == 3
        for name in theirs:
            assert np.asarray(table[name]).tobytes() == theirs[name].tobytes(), (learner, name)
