//! `cargo xtask bench`: runs the criterion benchmarks of `apical-sim` and prints one summary
//! table, which it also writes to `docs/benchmarks.md`.
//!
//! Absolute times on a shared machine move by a factor of two from run to run, so next to them
//! the table shows ratios against limits of the machine measured in the same run:
//!
//! ```text
//! Euler step        step time / time of one streaming pass over the same plastic weights and traces
//! two-step engine   images per second / images per second of faer's gemm alone on the same products
//! parallel seeds    time of four runs on 1 thread / time on 2 threads
//! ```
//!
//! Criterion takes many samples of each benchmark, each the mean time of many iterations. The
//! table shows the fastest sample, which on a machine shared with other work is the least
//! disturbed, next to criterion's median, and judges the targets on the fastest samples. The Euler
//! steps and their streaming passes are measured twice, by the wall clock and by the CPU time of
//! the benchmarking thread, which does not count the time the thread waits while other work runs;
//! the step target is judged on the CPU time. The numbers are read from the files criterion writes
//! under `<target>/xtask-criterion/`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The benchmark targets of `crates/sim/benches`.
const BENCHES: [&str; 3] = ["euler", "kernels", "two_step"];

/// The networks of `benches/euler.rs`, in its order.
const NETWORKS: [&str; 4] = ["30-50-10", "4-120-3", "9-30-3", "784-500-500-10"];

/// Targets of the speed issue: the Euler step of each small network over its streaming pass (CPU
/// time), the step of the large network in f32 over the f32 streaming pass, and the two-step
/// engine's throughput as a fraction of gemm's at batch 100.
const STEP_TARGET_RATIOS: [(&str, f64); 3] = [("30-50-10", 1.5), ("4-120-3", 3.0), ("9-30-3", 3.0)];
const LARGE_STEP_F32_TARGET_RATIO: f64 = 1.2;
const TWO_STEP_TARGET_FRACTION: f64 = 0.8;

/// The command that regenerates the table, as the document names it.
const COMMAND: &str = "cargo xtask bench";

/// Runs the benchmarks and writes the summary.
pub fn run(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("cargo xtask bench takes no arguments, got '{arg}'");
    }
    let root = super::workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let home = target.join("xtask-criterion");
    if home.exists() {
        std::fs::remove_dir_all(&home).with_context(|| format!("cannot clear {}", home.display()))?;
    }
    let load_before = load_average();
    let started = std::time::Instant::now();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(&root).env("CRITERION_HOME", &home).args(["bench", "-p", "apical-sim"]);
    for bench in BENCHES {
        command.args(["--bench", bench]);
    }
    let status = command.args(["--", "--noplot"]).status().context("cannot run cargo bench")?;
    if !status.success() {
        bail!("cargo bench failed ({status})");
    }
    let results = Results { home };
    let machine = Machine {
        cpu: cpu_name(),
        threads: available_threads(),
        vector: vector_instructions(),
        load_before,
        load_after: load_average(),
    };
    let text = report(&results, &machine, started.elapsed().as_secs_f64())?;
    println!("\n{text}");
    let doc = root.join("docs/benchmarks.md");
    let text = with_kept_section(text, &std::fs::read_to_string(&doc).unwrap_or_default());
    apical_sim::files::write_atomic(&doc, text.as_bytes())?;
    println!("wrote {}", doc.display());
    Ok(())
}

/// The heading of the section of `docs/benchmarks.md` that another command measures
/// (`crates/py/bench/step_overhead.py`, the Python package) and that this report keeps.
const KEPT_SECTION: &str = "\n## Python\n";

/// The new report `text` followed by the kept section of the current document `old`, if it has
/// one.
fn with_kept_section(text: String, old: &str) -> String {
    match old.find(KEPT_SECTION) {
        Some(start) => format!("{}\n{}", text.trim_end(), &old[start..]),
        None => text,
    }
}

/// Where criterion left its estimates.
struct Results {
    home: PathBuf,
}

impl Results {
    fn dir(&self, group: &str, id: &str) -> PathBuf {
        self.home.join(group).join(id).join("new")
    }

    /// The fastest sample and the median of one benchmark.
    fn timing(&self, group: &str, id: &str) -> Result<Timing> {
        let path = self.dir(group, id).join("sample.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("no result for {group}/{id}"))?;
        let (iters, times) = (json_array(&text, "\"iters\":"), json_array(&text, "\"times\":"));
        let best = iters.zip(times).and_then(|(iters, times)| {
            iters.iter().zip(&times).map(|(n, t)| t / n).filter(|x| x.is_finite()).min_by(f64::total_cmp)
        });
        let best = best.with_context(|| format!("{}: no samples", path.display()))?;
        let path = self.dir(group, id).join("estimates.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("no estimates for {group}/{id}"))?;
        let median = json_number(&text, &["\"median\"", "\"point_estimate\":"])
            .with_context(|| format!("{}: no median point estimate", path.display()))?;
        Ok(Timing { best, median })
    }

    /// The throughput criterion was given (bytes or elements per iteration), if any.
    fn throughput(&self, group: &str, id: &str) -> Result<f64> {
        let path = self.dir(group, id).join("benchmark.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("no result for {group}/{id}"))?;
        json_number(&text, &["\"throughput\":"]).with_context(|| format!("{}: no throughput", path.display()))
    }
}

/// The time of one iteration (ns): the fastest of criterion's samples, each the mean of many
/// iterations, and criterion's median.
#[derive(Debug, Clone, Copy)]
struct Timing {
    best: f64,
    median: f64,
}

impl Timing {
    /// "fastest (median)".
    fn show(self) -> String {
        format!("{} ({})", time(self.best), time(self.median))
    }

    /// This time over another, for the fastest samples and for the medians.
    fn over(self, other: Timing) -> Timing {
        Timing { best: self.best / other.best, median: self.median / other.median }
    }

    /// "fastest× (median×)" for a ratio.
    fn show_ratio(self) -> String {
        format!("{:.2}× ({:.2}×)", self.best, self.median)
    }
}

/// The number after the last of `keys`, each searched after the previous one: enough of JSON for
/// criterion's flat files.
fn json_number(text: &str, keys: &[&str]) -> Option<f64> {
    let mut rest = text;
    for key in keys {
        rest = &rest[rest.find(key)? + key.len()..];
    }
    let start = rest.find(|c: char| c.is_ascii_digit() || c == '-')?;
    let rest = &rest[start..];
    let end = rest.find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c))).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// The numbers of the array after `key`.
fn json_array(text: &str, key: &str) -> Option<Vec<f64>> {
    let rest = &text[text.find(key)? + key.len()..];
    let rest = &rest[rest.find('[')? + 1..];
    let body = &rest[..rest.find(']')?];
    body.split(',').map(|x| x.trim().parse().ok()).collect()
}

/// What the table says about the machine it was measured on.
struct Machine {
    cpu: String,
    threads: usize,
    vector: &'static str,
    load_before: Option<String>,
    load_after: Option<String>,
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// The vector instructions the kernels and rate maps run on here, chosen at run time.
fn vector_instructions() -> &'static str {
    use apical_numerics::vmath::Isa;
    match Isa::detect() {
        Isa::Avx512 => "AVX-512, eight lanes",
        Isa::Avx2Fma => "AVX2 and FMA, four lanes",
        Isa::Scalar | Isa::Libm => "scalar",
    }
}

fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The 1-minute load average, where the system reports one.
fn load_average() -> Option<String> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next().map(str::to_string)
}

/// A duration in the unit that suits it.
fn time(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

/// "met", or by how much the target was missed.
fn verdict(met: bool, miss: f64) -> String {
    if met { "met".into() } else { format!("missed by {miss:.2}×") }
}

fn report(r: &Results, machine: &Machine, seconds: f64) -> Result<String> {
    let mut t = String::new();
    let mut notes = Vec::new();
    writeln!(t, "# Benchmarks\n")?;
    writeln!(
        t,
        "Regenerate with `{COMMAND}` (about {:.0} minutes, most of it criterion's sampling).",
        (seconds / 60.0).ceil()
    )?;
    let load = |l: &Option<String>| l.clone().unwrap_or_else(|| "unknown".into());
    writeln!(
        t,
        "Measured on {} ({} hardware threads; vector instructions: {}); 1-minute load average {} before and {} \
         after the run.",
        machine.cpu,
        machine.threads,
        machine.vector,
        load(&machine.load_before),
        load(&machine.load_after)
    )?;
    writeln!(
        t,
        "Every time is given as *fastest (median)*: the fastest of criterion's samples (a sample is the mean of many \
         iterations), which on a machine shared with other work is the least disturbed, and criterion's median. \
         Ratios are taken between measurements of the same run, fastest to fastest and median to median; targets \
         are judged on the fastest samples. Absolute wall times on a shared machine vary by up to 2× between runs; \
         the CPU time of the benchmarking thread leaves out the time it waits while other work runs, though not \
         the caches and memory bandwidth that work takes.\n"
    )?;

    writeln!(t, "## Euler step\n")?;
    writeln!(
        t,
        "One step of the continuous-time engine (`crates/sim/benches/euler.rs`) with plasticity of W, W^IP and W^PI, \
         nudging and noise on (the learning rates and σ of Fig. 2), against one streaming pass that reads and \
         writes every plastic weight and trace of the same network once (`W ← W + aΔ, Δ ← bΔ`, measured right \
         after the step), each by the wall clock and by the thread's CPU time; the target is judged on the CPU \
         time.\n"
    )?;
    writeln!(
        t,
        "| network | plastic W + Δ | step (wall) | pass (wall) | step / pass (wall) | step (CPU) | pass (CPU) | \
         step / pass (CPU) | target | verdict |"
    )?;
    writeln!(t, "|---|---:|---:|---:|---:|---:|---:|---:|---|---|")?;
    let mut small_misses = Vec::new();
    let mut small_pass_cpu = f64::NAN;
    for net in NETWORKS {
        let step = r.timing("euler_step", net)?;
        let pass = r.timing("stream_floor", net)?;
        let step_cpu = r.timing("euler_step_cpu", net)?;
        let pass_cpu = r.timing("stream_floor_cpu", net)?;
        let bytes = r.throughput("stream_floor", net)?;
        let ratio = step_cpu.over(pass_cpu);
        let (target, result) = match STEP_TARGET_RATIOS.iter().find(|(n, _)| *n == net) {
            Some(&(_, goal)) => {
                let met = ratio.best <= goal;
                if !met {
                    small_misses.push(format!("{net} by {:.2}×", ratio.best / goal));
                }
                (format!("≤ {goal}× pass"), verdict(met, ratio.best / goal))
            }
            None => ("f32: see below".into(), "—".into()),
        };
        writeln!(
            t,
            "| {net} | {:.2} MB | {} | {} | {} | {} | {} | {} | {target} | {result} |",
            bytes / 1e6,
            step.show(),
            pass.show(),
            step.over(pass).show_ratio(),
            step_cpu.show(),
            pass_cpu.show(),
            ratio.show_ratio()
        )?;
        if net == "30-50-10" {
            small_pass_cpu = pass_cpu.best;
        }
    }
    if !small_misses.is_empty() {
        notes.push(format!(
            "The small networks miss their targets ({}; CPU time). Their plastic matrices are small (30-50-10's \
             streaming pass takes {} of CPU time), so the step is dominated by work the streaming pass does not do: \
             the fused plasticity pass forms the outer product post ⊗ pre, the trace, the weight and the product W x \
             in one sweep (eight floating-point operations per weight against the streaming pass's three) over \
             seven small matrices; every step evaluates the rate function about twice per neuron (the emitted rates, \
             and φ of the dendritic predictions in the postsynaptic factors of Eqs. 7 and 8), a population at a time \
             with the vectorised maps of `apical_numerics::vmath`; and the noise draws one Gaussian per neuron from \
             the named random stream. `perf record` on `cargo bench -p apical-sim --bench euler` shows where a step's \
             time goes.",
            small_misses.join(", "),
            time(small_pass_cpu),
        ));
    }
    let pattern = r.timing("pattern_100ms", "30-50-10")?;
    writeln!(
        t,
        "\nOne 100 ms pattern (1000 steps) of 30-50-10: {}, that is {} per step (a public NumPy implementation takes \
         about 100 µs per step).\n",
        pattern.show(),
        time(pattern.best / 1000.0)
    )?;

    writeln!(t, "## Kernels\n")?;
    writeln!(
        t,
        "The fused plasticity pass (trace, weight and product W x in one sweep), the product alone, and the streaming \
         pass over the same matrix and trace (`crates/sim/benches/kernels.rs`).\n"
    )?;
    writeln!(t, "| matrix | storage | plasticity pass | gemv | streaming pass | pass / streaming |")?;
    writeln!(t, "|---|---|---:|---:|---:|---:|")?;
    for shape in ["500x785", "10x501", "50x30", "10x50", "50x10"] {
        for (storage, suffix) in [("f64", ""), ("f32", "_f32")] {
            let fused = r.timing(&format!("plasticity_pass{suffix}"), shape)?;
            let stream = r.timing(&format!("stream{suffix}"), shape)?;
            writeln!(
                t,
                "| {} | {storage} | {} | {} | {} | {} |",
                shape.replace('x', " × "),
                fused.show(),
                r.timing(&format!("gemv{suffix}"), shape)?.show(),
                stream.show(),
                fused.over(stream).show_ratio()
            )?;
        }
    }

    writeln!(t, "\n## Two-step training throughput (784-500-500-10)\n")?;
    writeln!(
        t,
        "One training step of the two-step engine on a mini-batch (`crates/sim/benches/two_step.rs`), against faer's \
         gemm alone on the products of that step with the same shapes and batch, both on the default thread pool \
         (one thread per CPU), as `apical run` trains; in f64, and at batch 100 also with every matrix in f32 \
         (`plasticity.precision = \"f32\"`).\n"
    )?;
    writeln!(
        t,
        "| batch | storage | engine | engine images/s | gemm | gemm images/s | engine / gemm throughput | target | verdict |"
    )?;
    writeln!(t, "|---:|---|---:|---:|---:|---:|---:|---|---|")?;
    for (batch, storage, id) in [(10, "f64", "batch-10"), (100, "f64", "batch-100"), (100, "f32", "batch-100-f32")] {
        let engine = r.timing("two_step", id)?;
        let gemm = r.timing("gemm_reference", id)?;
        let images = r.throughput("two_step", id)?;
        let fraction = gemm.over(engine);
        let (target, result) = if id == "batch-100" {
            let met = fraction.best >= TWO_STEP_TARGET_FRACTION;
            let target = format!("≥ {:.0} %", 100.0 * TWO_STEP_TARGET_FRACTION);
            (target, verdict(met, TWO_STEP_TARGET_FRACTION / fraction.best))
        } else {
            ("—".into(), "—".into())
        };
        writeln!(
            t,
            "| {batch} | {storage} | {} | {:.0} | {} | {:.0} | {:.0} % ({:.0} %) | {target} | {result} |",
            engine.show(),
            images * 1e9 / engine.best,
            gemm.show(),
            images * 1e9 / gemm.best,
            100.0 * fraction.best,
            100.0 * fraction.median
        )?;
        if id == "batch-100" && fraction.best < TWO_STEP_TARGET_FRACTION {
            notes.push(format!(
                "The two-step engine reaches {:.0} % of the gemm throughput at batch 100. Besides its products it \
                 evaluates the logistic about 4 000 times per image (the forward rates, and φ of the nudged and of \
                 the predicted potentials of every neuron and interneuron), a block at a time with the vectorised \
                 maps of `apical_numerics::vmath`, split between the pool's threads, outside the gemms.",
                100.0 * fraction.best
            ));
        }
    }

    let (f64_engine, f32_engine) = (r.timing("two_step", "batch-100")?, r.timing("two_step", "batch-100-f32")?);
    writeln!(
        t,
        "\nAt batch 100 the engine trains {} as many images per second in f32 as in f64.",
        f64_engine.over(f32_engine).show_ratio()
    )?;

    writeln!(t, "\n## Parallel seeds\n")?;
    let one = r.timing("seeds", "threads-1")?;
    let two = r.timing("seeds", "threads-2")?;
    writeln!(
        t,
        "Four independent 30-50-10 runs of 2000 steps, one per seed, in a rayon pool as `apical run --seeds` runs \
         them: {} on 1 thread, {} on 2 threads, a scaling from 1 to 2 threads of {} (ideal 2×; the machine's other \
         work takes its share of the cores).\n",
        one.show(),
        two.show(),
        one.over(two).show_ratio()
    )?;

    writeln!(t, "## f32 storage\n")?;
    writeln!(
        t,
        "The Euler step of the table above with the weights and traces stored in f32 (`plasticity.precision = \
         \"f32\"`), against the streaming pass over the same f32 weights and traces, and against the f64 step, by the \
         thread's CPU time.\n"
    )?;
    writeln!(
        t,
        "| network | plastic W + Δ | step f32 (CPU) | pass f32 (CPU) | step / pass | f64 step / f32 step | target | verdict |"
    )?;
    writeln!(t, "|---|---:|---:|---:|---:|---:|---|---|")?;
    for net in NETWORKS {
        let step = r.timing("euler_step_f32_cpu", net)?;
        let pass = r.timing("stream_floor_f32_cpu", net)?;
        let ratio = step.over(pass);
        let (target, result) = if net == NETWORKS[NETWORKS.len() - 1] {
            let met = ratio.best <= LARGE_STEP_F32_TARGET_RATIO;
            if !met {
                let f64_ratio = r.timing("euler_step_cpu", net)?.over(r.timing("stream_floor_cpu", net)?);
                notes.push(format!(
                    "The f32 step of {net} takes {} its f32 streaming pass (target ≤ {LARGE_STEP_F32_TARGET_RATIO}×), \
                     and the f64 step {} its f64 pass in the same run. Most of the step is the fused plasticity \
                     pass itself (`perf record` on `cargo bench -p apical-sim --bench euler -- --profile-time 8 \
                     'euler_step_f32/784-500-500-10$'` shows it): per weight it does about eight floating-point \
                     operations in the scalar reference's order, and it reads and writes four columns of W and of \
                     Δ at once, while the streaming pass does three operations on one stream of each; the kernel \
                     table above gives the pass over 500 × 785 alone against its streaming pass.",
                    ratio.show_ratio(),
                    f64_ratio.show_ratio()
                ));
            }
            (format!("≤ {LARGE_STEP_F32_TARGET_RATIO}× pass"), verdict(met, ratio.best / LARGE_STEP_F32_TARGET_RATIO))
        } else {
            ("—".into(), "—".into())
        };
        writeln!(
            t,
            "| {net} | {:.2} MB | {} | {} | {} | {} | {target} | {result} |",
            r.throughput("stream_floor_f32", net)? / 1e6,
            step.show(),
            pass.show(),
            ratio.show_ratio(),
            r.timing("euler_step_cpu", net)?.over(step).show_ratio()
        )?;
    }
    writeln!(t)?;

    if !notes.is_empty() {
        writeln!(t, "## Targets missed\n")?;
        for note in notes {
            writeln!(t, "- {note}")?;
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_python_section() {
        let old = "# Benchmarks\n\nold table\n\n## Python\n\nstep(1): 1 µs\n";
        let new = with_kept_section("# Benchmarks\n\nnew table\n".into(), old);
        assert_eq!(new, "# Benchmarks\n\nnew table\n\n## Python\n\nstep(1): 1 µs\n");
        assert_eq!(with_kept_section("# Benchmarks\n".into(), "# Benchmarks\nold\n"), "# Benchmarks\n");
    }

    #[test]
    fn reads_criterion_numbers() {
        let estimates = concat!(
            r#"{"mean":{"confidence_interval":{"lower_bound":1.0},"point_estimate":2.5e3},"#,
            r#""median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1335890.8},"#,
            r#""point_estimate":1344123.25,"standard_error":17478.3}}"#
        );
        assert_eq!(json_number(estimates, &["\"median\"", "\"point_estimate\":"]), Some(1344123.25));
        assert_eq!(json_number(estimates, &["\"mean\"", "\"point_estimate\":"]), Some(2.5e3));
        let benchmark = r#"{"group_id":"two_step","throughput":{"Elements":10},"full_id":"two_step/batch-10"}"#;
        assert_eq!(json_number(benchmark, &["\"throughput\":"]), Some(10.0));
        assert_eq!(json_number(benchmark, &["\"missing\":"]), None);
        let sample = r#"{"sampling_mode":"Linear","iters":[2.0,4.0],"times":[10.0,16.5]}"#;
        assert_eq!(json_array(sample, "\"iters\":"), Some(vec![2.0, 4.0]));
        assert_eq!(json_array(sample, "\"times\":"), Some(vec![10.0, 16.5]));
    }

    #[test]
    fn formats_times_and_verdicts() {
        assert_eq!(time(950.0), "950 ns");
        assert_eq!(time(2_340.0), "2.34 µs");
        assert_eq!(time(1.5e6), "1.50 ms");
        assert_eq!(verdict(true, 0.5), "met");
        assert_eq!(verdict(false, 1.234), "missed by 1.23×");
    }

    #[test]
    fn missing_results_name_the_benchmark() {
        let r = Results { home: PathBuf::from("/nonexistent") };
        let e = r.timing("euler_step", "30-50-10").unwrap_err();
        assert!(format!("{e:#}").contains("euler_step/30-50-10"), "{e:#}");
    }
}
