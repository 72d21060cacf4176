#!/usr/bin/env bash
# The Python package's CI step: build the `apical` wheel once, install it with the test tools in
# a virtual environment under target/, run the pytest suite against the real `apical` binary and
# execute the example notebook headless.
#
# The wheel is built with cargo's dev profile, whose dependencies the test step has compiled
# already; `pip install ./crates/py` builds the release one. PYTHON names the interpreter
# (default python3, 3.9 or newer).
set -euo pipefail
cd "$(dirname "$0")/../.."

python="${PYTHON:-python3}"
venv=target/py-venv
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "maturin>=1.9,<2" pytest numpy matplotlib nbclient nbformat ipykernel

# The binary to compare against, as the test step built it (the same command is a no-op after it;
# `cargo build --bin apical` would unify other features and build the dependencies again).
cargo test --workspace --no-run --quiet
export APICAL_BIN="$PWD/target/debug/apical"
rm -rf target/py-wheels
"$venv/bin/maturin" build --quiet --profile dev --manifest-path crates/py/Cargo.toml --out target/py-wheels
"$venv/bin/python" -m pip install --quiet --force-reinstall --no-deps target/py-wheels/apical-*.whl

"$venv/bin/python" -m pytest -q crates/py/tests
"$venv/bin/python" - <<'PY'
import nbformat
from nbclient import NotebookClient

notebook = nbformat.read("examples/fig1.ipynb", as_version=4)
NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": "examples"}}).execute()
print("examples/fig1.ipynb: executed without errors")
PY
