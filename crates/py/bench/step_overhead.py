"""The cost of stepping the continuous-time engine from Python.

Measures, on the network of the Rust benchmark `euler_step/30-50-10` (crates/sim/benches/euler.rs:
the Fig. 2 sizes and rates, σ = 0.3, W, W^IP and W^PI plastic, a target shown):

* `Network.step(100_000)`: one call, 10^5 Euler steps, per step;
* `Network.step(1)` called 10^5 times from a Python loop, per call, and the overhead of a call
  over the step it makes;
* both by wall time and by the CPU time of the process (time.process_time), which leaves out the
  time the process waits while other work runs on the machine.

With `--rust DIR`, criterion's folder of the Rust benchmark `euler_step_cpu/30-50-10` (the same
step timed by the CPU time of its thread), it also gives the Rust time per step, fastest sample
and median as `cargo xtask bench` reads them, and the Python time per step relative to it:

    CRITERION_HOME=$PWD/target/criterion cargo bench -p apical-sim --bench euler -- --noplot euler_step_cpu/30-50-10
    python crates/py/bench/step_overhead.py --rust target/criterion/euler_step_cpu/30-50-10/new
"""

import argparse
import json
import statistics
from pathlib import Path
import time

import numpy as np

import apical

STEPS = 100_000
REPEATS = 7


def benchmark_network():
    """The network of the Rust benchmark `euler_step/30-50-10`, after 100 warm-up steps."""
    cfg = apical.Config.preset("fig1")
    cfg.update(
        {
            "network.sizes": [30, 50, 10],
            "network.phi": {"kind": "soft-rectifier", "gamma": 0.1, "beta": 1.0, "theta": 3.0},
            "dynamics.sigma": 0.3,
            "init.lateral": "random",
            "init.range": 1.0 / 50**0.5,
            "plasticity.eta_up": [0.0011875, 0.0011875 / 2],
            "plasticity.eta_ip": [0.0011875],
            "plasticity.eta_pi": [0.0059375],
        }
    )
    net = apical.Network(cfg)
    net.set_input(np.random.default_rng(7).uniform(0.0, 1.0, 30))
    net.set_target(np.array([0.5 - 0.1 * i for i in range(10)]))
    net.step(100)
    return net


def timed(f):
    """(wall, cpu) seconds of one call of f."""
    wall, cpu = time.perf_counter(), time.process_time()
    f()
    return time.perf_counter() - wall, time.process_time() - cpu


def ns(seconds, count):
    return 1e9 * seconds / count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rust", type=Path, help="criterion's folder of euler_step_cpu/30-50-10 (…/new)")
    args = parser.parse_args()

    net = benchmark_network()
    long = [timed(lambda: net.step(STEPS)) for _ in range(REPEATS)]

    def single_steps():
        step = net.step
        for _ in range(STEPS):
            step(1)

    short = [timed(single_steps) for _ in range(REPEATS)]
    best = lambda runs, i: min(r[i] for r in runs)  # noqa: E731
    median = lambda runs, i: statistics.median(r[i] for r in runs)  # noqa: E731

    print(f"network 30-50-10, {STEPS} steps, best and median of {REPEATS} runs")
    print("                        wall best  wall median   cpu best  cpu median")
    for label, runs in [("step(100_000), per step", long), ("step(1), per call", short)]:
        cells = [ns(f(runs, i), STEPS) for i in (0, 1) for f in (best, median)]
        print(f"{label:<24}" + "".join(f"{c:>9.1f} ns" for c in cells))
    overhead_cpu = ns(best(short, 1) - best(long, 1), STEPS)
    overhead_wall = ns(best(short, 0) - best(long, 0), STEPS)
    print(f"overhead of one step(1) call over its step: {overhead_cpu:.1f} ns CPU, {overhead_wall:.1f} ns wall")
    if args.rust:
        # As `cargo xtask bench` reads criterion: the fastest sample (each the mean of many
        # iterations) and the median estimate, in ns per step.
        sample = json.loads((args.rust / "sample.json").read_text())
        rust_best = min(t / n for n, t in zip(sample["iters"], sample["times"]))
        rust_median = json.loads((args.rust / "estimates.json").read_text())["median"]["point_estimate"]
        py_best, py_median = ns(best(long, 1), STEPS), ns(median(long, 1), STEPS)
        print(f"Rust euler_step_cpu/30-50-10 per step: {rust_best:.1f} ns fastest, {rust_median:.1f} ns median")
        print(f"step(100_000) from Python over Rust (CPU): {100 * (py_best / rust_best - 1):+.1f} % fastest, "
              f"{100 * (py_median / rust_median - 1):+.1f} % median")

if __name__ == "__main__":
    main()
