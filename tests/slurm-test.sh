#!/usr/bin/env bash
# Runs a sweep as a real SLURM job array and checks that its results are byte for byte those of
# `apical sweep run` on the same manifest.
#
# It installs Debian's SLURM and MUNGE packages if they are missing, starts a single-node cluster
# whose controller and node both listen on the loopback (no accounting, no cgroups, every file
# in a temporary folder), plans a sweep of 2 points × 2 seeds of a shortened `quick` preset,
# runs it once with `apical sweep run` and once with `sbatch --wait`, and compares every file of
# every run folder: `metrics.csv`, the plots, `checkpoint.bin` and `summary.json`, the last
# without its `wall_time_s` line, the only field that measures time. It then resubmits the array,
# whose tasks must all skip their finished runs, prints `apical sweep summary` and stops the
# daemons by their process ids.
#
# It needs root, to install the packages and to run the daemons; run as another user it says so
# and skips. `cargo xtask ci` runs it. APICAL_BIN names the binary to test (default: a debug
# build of this checkout).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "slurm test: skipped, it needs root to install and start SLURM"
  exit 0
fi

missing=0
for program in munged slurmctld slurmd sbatch; do
  command -v "$program" >/dev/null || missing=1
done
if [ "$missing" = 1 ]; then
  echo "slurm test: installing slurmctld, slurmd, slurm-client and munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi

if [ -z "${APICAL_BIN:-}" ]; then
  cargo build -p apical --quiet
  APICAL_BIN="$(cargo metadata --format-version 1 --no-deps | sed 's/.*"target_directory":"\([^"]*\)".*/\1/')/debug/apical"
fi
bin="$(cd "$(dirname "$APICAL_BIN")" && pwd)/$(basename "$APICAL_BIN")"

work="$(mktemp -d /tmp/apical-slurm.XXXXXX)"
pids=()
stop() {
  # The daemons are stopped by the process ids this script started them with, newest first.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[$i]}" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  done
  rm -rf "$work"
}
trap stop EXIT
fail() {
  echo "slurm test: FAILED: $*" >&2
  for log in "$work"/*.log; do
    echo "--- $log" >&2
    tail -n 20 "$log" >&2 || true
  done
  exit 1
}

# MUNGE, with its own key and socket.
dd if=/dev/urandom of="$work/munge.key" bs=1024 count=1 status=none
chmod 0400 "$work/munge.key"
munged --force --key-file="$work/munge.key" --socket="$work/munge.socket" \
  --pid-file="$work/munged.pid" --log-file="$work/munged.log" --seed-file="$work/munged.seed"
for _ in $(seq 50); do [ -s "$work/munged.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/munged.pid")")

# One node with every CPU of this machine, controller and node on the loopback.
cpus="$(nproc)"
mkdir -p "$work/state" "$work/spool"
export SLURM_CONF="$work/slurm.conf"
cat >"$SLURM_CONF" <<EOF
ClusterName=apical-ci
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=${APICAL_SLURMCTLD_PORT:-6817}
SlurmdPort=${APICAL_SLURMD_PORT:-6818}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge.socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=ci Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -i >"$work/slurmctld.out.log" 2>&1 &
pids+=("$!")
slurmd -D -N localhost >"$work/slurmd.out.log" 2>&1 &
pids+=("$!")
for _ in $(seq 300); do
  [ "$(sinfo -h -n localhost -o %t 2>/dev/null)" = idle ] && break
  sleep 0.1
done
[ "$(sinfo -h -n localhost -o %t 2>/dev/null)" = idle ] || fail "the node did not come up"
echo "slurm test: single-node SLURM up ($(sinfo -V), $cpus CPUs)"

# The sweep: 2 points × 2 seeds of a few hundred patterns each.
cat >"$work/sweep.toml" <<EOF
preset = "quick"
seeds = [0, 1]

[grid]
"experiment.fig-s1.patterns" = [300]
"plasticity.eta_pi" = [[0.0005], [0.001]]

[slurm]
time = "0:05:00"
parallel = 4
EOF
sweep="$work/sweep"
"$bin" sweep plan "$work/sweep.toml" --out "$sweep"

"$bin" sweep run "$sweep" --quiet >"$work/local.log" 2>&1 || fail "apical sweep run: $(tail -n 1 "$work/local.log")"
mv "$sweep/runs" "$work/local"

sbatch --wait --quiet "$sweep/sbatch.sh" >"$work/sbatch.log" 2>&1 || fail "the job array failed: $(cat "$work/sbatch.log")"

# Every file of every run folder must be equal; summary.json without its wall time.
compared=0
for local in "$work"/local/*/; do
  run="$(basename "$local")"
  array="$sweep/runs/$run"
  [ -f "$array/summary.json" ] || fail "$run: the array task wrote no summary.json"
  [ "$(ls -A "$local")" = "$(ls -A "$array")" ] || fail "$run: the array task wrote other files"
  for file in "$local"*; do
    name="$(basename "$file")"
    if [ "$name" = summary.json ]; then
      cmp -s <(grep -v '"wall_time_s":' "$file") <(grep -v '"wall_time_s":' "$array/$name") ||
        fail "$run: summary.json differs (besides its wall time)"
    else
      cmp -s "$file" "$array/$name" || fail "$run: $name differs between the array and the local run"
    fi
    compared=$((compared + 1))
  done
done
[ "$compared" -gt 0 ] || fail "no run folder to compare"
tasks="$(ls "$sweep"/logs/*.out | wc -l)"
[ "$tasks" = 4 ] || fail "the array ran $tasks tasks, not 4"
echo "slurm test: the 4 array tasks' $compared files equal the local run's"

# A resubmitted array finds every run finished.
sbatch --wait --quiet "$sweep/sbatch.sh" >"$work/resubmit.log" 2>&1 || fail "the resubmitted array failed"
skipped="$(cat "$sweep"/logs/*.out | grep -c 'finished before; skipped' || true)"
[ "$skipped" = 4 ] || fail "the resubmitted array skipped $skipped runs, not 4"
echo "slurm test: the resubmitted array skipped all 4 finished runs"

"$bin" sweep summary "$sweep" --value apical_sq_end --value mismatch_end
echo "slurm test: passed"
