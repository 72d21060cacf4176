"""Long calls release the interpreter and stop at Ctrl-C."""

import signal
import subprocess
import sys
import threading
import time

import numpy as np

import apical

# A Python process that starts a long call, says so, and reports how it ended.
SCRIPT = """
import signal, sys, time
import numpy as np
import apical
# A process started in the background by a non-interactive shell inherits SIGINT ignored, and
# Python then installs no handler; restore the one an interactive session has.
signal.signal(signal.SIGINT, signal.default_int_handler)
cfg = apical.Config.preset("fig1")
{setup}
print("started", flush=True)
started = time.perf_counter()
try:
    {call}
    print("finished")
except KeyboardInterrupt as e:
    print(f"interrupted after {{time.perf_counter() - started:.2f}} s: {{e}}")
"""


def interrupt(setup, call, tmp_path):
    """Runs `call` in a new Python process, sends it SIGINT once started, returns its output."""
    child = subprocess.Popen(
        [sys.executable, "-c", SCRIPT.format(setup=setup, call=call)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    assert child.stdout.readline().strip() == "started"
    time.sleep(0.5)
    child.send_signal(signal.SIGINT)
    try:
        out, err = child.communicate(timeout=60)
    finally:
        # A child that ignored the signal would otherwise run on after the test.
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    return out


def test_ctrl_c_stops_a_long_step(tmp_path):
    # 10^9 steps would take many minutes.
    out = interrupt("net = apical.Network(cfg)", "net.step(10**9, input=np.full(30, 0.5))", tmp_path)
    assert out.startswith("interrupted after"), out
    assert float(out.split()[2]) < 5, out


def test_ctrl_c_stops_a_run_at_its_next_checkpoint(tmp_path):
    setup = 'cfg.update({"experiment.fig1.duration_ms": 3e6, "experiment.fig1.checkpoint_ms": 1000.0})'
    out = interrupt(setup, 'apical.run(cfg, out="run", progress=False)', tmp_path)
    assert out.startswith("interrupted after"), out
    assert "fig1 stopped after its checkpoint at t = " in out, out
    assert (tmp_path / "run" / "checkpoint.bin").is_file()


def test_a_long_step_lets_other_python_threads_run():
    net = apical.Network(apical.Config.preset("fig1"))
    net.set_input(np.full(30, 0.5))
    counter = [0]
    done = threading.Event()

    def count():
        while not done.is_set():
            counter[0] += 1

    thread = threading.Thread(target=count)
    thread.start()
    time.sleep(0.01)
    before = counter[0]
    started = time.perf_counter()
    net.step(500_000)
    elapsed = time.perf_counter() - started
    during = counter[0] - before
    done.set()
    thread.join()
    # Holding the interpreter, the step would leave the counting thread no turn at all.
    assert elapsed > 0.05 and during > 10_000, (elapsed, during)
