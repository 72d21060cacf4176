//! `cargo xtask verify [--cases N]`: checks that the microcircuit's local updates approximate
//! backprop (spec §6), and prints the evidence.
//!
//! 1. Runs the property tests, `cargo test --release -p apical-sim --test backprop`, with
//!    `PROPTEST_CASES=N`.
//! 2. Prints the table of spec §6 for the 4-5-4-3 reference network and checks that it behaves
//!    like the spec's ([`ReferenceTable::violations`]).
//! 3. Prints a summary over N seeded random networks per kind of top-down weights and checks the
//!    bounds the property tests assert.
//!
//! Any failure makes the command exit with a non-zero status.

use std::process::Command;

use anyhow::{Context, bail};
use apical_numerics::{Real, rate::RateFn};
use apical_sim::verify::{
    self, Case, ENGINE_AGREEMENT, Engine, LAMBDAS, LIMIT_MAX_NORM_DEVIATION, LIMIT_MIN_COSINE, MAX_ERROR_RATIO,
    MEDIAN_RATIO_TOLERANCE, MIN_ERROR_RATIO, MIN_MEASURED_SHARE, ReferenceTable, SPEC_TABLE_ERRORS, TopDown,
};

/// The number of random cases when `--cases` is not given.
const DEFAULT_CASES: u64 = 256;
/// The number of draws of the reference network that show how typical seed 0 is.
const REFERENCE_DRAWS: u64 = 200;
/// Every this many random networks also run through the Euler engine.
const EULER_EVERY: u64 = 8;

/// The value of `--cases N` (or `--cases=N`), or [`DEFAULT_CASES`].
fn parse_cases(args: &[String]) -> anyhow::Result<u64> {
    let mut cases = DEFAULT_CASES;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let value = match arg.as_str() {
            "--cases" => it.next().context("--cases needs a number")?.as_str(),
            other => match other.strip_prefix("--cases=") {
                Some(v) => v,
                None => bail!("unknown argument '{other}' (usage: cargo xtask verify [--cases N])"),
            },
        };
        cases = value
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .with_context(|| format!("--cases must be a positive whole number, got '{value}'"))?;
    }
    Ok(cases)
}

/// Runs `cargo xtask verify` with the arguments after `verify`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let cases = parse_cases(args)?;
    let mut failures = Vec::new();

    println!("== property tests: cargo test --release -p apical-sim --test backprop, PROPTEST_CASES={cases}");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(super::workspace_root())
        .args(["test", "--release", "--quiet", "-p", "apical-sim", "--test", "backprop"])
        .env("PROPTEST_CASES", cases.to_string())
        .status()
        .context("could not start cargo test")?;
    if !status.success() {
        failures.push(format!("the property tests failed ({status})"));
    }

    println!();
    let table = ReferenceTable::compute()?;
    print_table(&table);
    print_other_draws()?;
    failures.extend(table.violations().into_iter().map(|v| format!("reference network: {v}")));

    println!();
    let transpose = Summary::collect(TopDown::Transpose, cases)?;
    let random = Summary::collect(TopDown::Random, cases)?;
    print_summary(cases, &transpose, &random);
    failures.extend(transpose.violations());
    failures.extend(random.violations());

    println!();
    if failures.is_empty() {
        println!("verify: all checks passed");
        Ok(())
    } else {
        for f in &failures {
            println!("FAILED: {f}");
        }
        bail!("{} check(s) failed", failures.len())
    }
}

/// 1 − x in scientific notation, for cosines close to 1.
fn one_minus(x: Real) -> String {
    format!("1 − {:.1e}", 1.0 - x)
}

fn sci_list(xs: impl IntoIterator<Item = Real>) -> String {
    xs.into_iter().map(|x| format!("{x:.1e}")).collect::<Vec<_>>().join(", ")
}

fn print_table(table: &ReferenceTable) {
    let case = &table.case;
    let layers: Vec<String> = (1..=case.depth()).map(|k| k.to_string()).collect();
    println!(
        "== spec §6 table: {} network, B = Wᵀ, weights U(−1, 1)/√fan-in, input U(0, 1), target U(−1, 1), seed {}",
        case.describe(),
        verify::REFERENCE_SEED
    );
    println!("   g_lk = 0.1, g_B = g_D = 1, g_A = g_som = g_som^I = s; steady state by fixed-point iteration");
    println!();
    let header = [
        "s".to_string(),
        "λ".into(),
        format!("rel. error of Eq. 7 update vs formula, layers {}", layers.join(",")),
        "cosine with backprop (min over layers)".into(),
        "max \\|‖ΔW_k‖ / (η s_k ‖∂L/∂W_k‖) − 1\\|".into(),
        "spec §6 (another draw): errors".into(),
    ];
    println!("| {} |", header.join(" | "));
    println!("|{}", "---|".repeat(header.len()));
    for (row, spec) in table.rows.iter().zip(SPEC_TABLE_ERRORS) {
        let c = &row.comparison;
        let norm = c.layers.iter().map(|l| l.norm_deviation()).fold(0.0, Real::max);
        println!(
            "| {} | {:.4} | {} | {:.6} ({}) | {norm:.1e} | {} |",
            c.s,
            c.lambda,
            sci_list(c.layers.iter().map(|l| l.rel_error)),
            row.min_cosine(),
            one_minus(row.min_cosine()),
            sci_list(spec)
        );
    }
    println!();
    let orders: Vec<String> = table.observed_order().iter().map(|p| format!("{p:.2}")).collect();
    let (a, b) = (&table.rows[table.rows.len() - 2].comparison, &table.rows[table.rows.len() - 1].comparison);
    println!(
        "From s = {} to s = {} the errors fall like λ^p with p = {} (layers {}).",
        a.s,
        b.s,
        orders.join(", "),
        layers.join(", ")
    );
    let euler = table.rows.iter().flat_map(|r| &r.engines).map(|e| e.difference / e.rounding).fold(0.0, Real::max);
    println!("The Euler engine (dt = 0.1 ms, run until no drift is left) gives the same updates");
    println!("within {euler:.2} rounding errors.");
}

/// How typical the reference draw is: the same network with other seeds, at s = 0.8.
fn print_other_draws() -> anyhow::Result<()> {
    let (draws, s) = (REFERENCE_DRAWS, verify::TABLE_S[0]);
    let mut cosines = Vec::new();
    for seed in 0..draws {
        let case = Case::draw(&verify::REFERENCE_SIZES, RateFn::Logistic, false, TopDown::Transpose, seed);
        let c = verify::compare(&case, s, Engine::FixedPoint)?;
        cosines.push(c.layers.iter().map(|l| l.cosine_backprop).fold(1.0, Real::min));
    }
    let above = cosines.iter().filter(|&&c| c >= verify::TABLE_MIN_COSINE).count();
    println!(
        "Over seeds 0–{} of the same network at s = {s}, the least cosine has median {:.6}",
        draws - 1,
        verify::median(&mut cosines)
    );
    let share = 100.0 * above as Real / draws as Real;
    println!("and reaches {} in {share:.0} % of the draws.", verify::TABLE_MIN_COSINE);
    Ok(())
}

/// Statistics over random networks with one kind of top-down weights.
struct Summary {
    top_down: TopDown,
    layers: usize,
    /// The largest output error relative to its first-order bound.
    output: Real,
    /// Error ratios for λ ÷ 3 where measurable.
    ratios: Vec<Real>,
    /// λ → 0 limits where resolved: (cosine, norm deviation, cosine with backprop).
    limits: Vec<(Real, Real, Real)>,
    /// Per λ of the first two: (resolved layers, layers meeting the unextrapolated bounds).
    literal: [(usize, usize); 2],
    /// Euler against the fixed point, in rounding errors, and the number of networks.
    euler: (Real, usize),
}

impl Summary {
    fn collect(top_down: TopDown, cases: u64) -> anyhow::Result<Summary> {
        let mut s = Summary {
            top_down,
            layers: 0,
            output: 0.0,
            ratios: Vec::new(),
            limits: Vec::new(),
            literal: [(0, 0); 2],
            euler: (0.0, 0),
        };
        for seed in 0..cases {
            let case = Case::random(seed, top_down);
            let sweep = verify::sweep(&case, Engine::FixedPoint)?;
            s.layers += case.depth();
            for m in &sweep {
                let check = m.output_check();
                s.output = s.output.max(check.rel_error / check.bound);
            }
            for k in 1..=case.depth() {
                s.ratios.extend(verify::error_ratio(&sweep, k));
                if let Some(l) = verify::limit(&sweep[1], &sweep[2], k) {
                    s.limits.push((l.cosine, l.norm_deviation, l.cosine_backprop));
                }
                for (literal, m) in s.literal.iter_mut().zip(&sweep) {
                    let layer = m.compare().layers[k - 1];
                    if layer.resolution <= 1e-5 {
                        literal.0 += 1;
                        let meets =
                            layer.cosine >= LIMIT_MIN_COSINE && layer.norm_deviation() <= LIMIT_MAX_NORM_DEVIATION;
                        literal.1 += usize::from(meets);
                    }
                }
            }
            if seed % EULER_EVERY == 0 {
                for e in verify::engine_agreement(&case, verify::s_for_lambda(LAMBDAS[0]))? {
                    s.euler.0 = s.euler.0.max(e.difference / e.rounding);
                }
                s.euler.1 += 1;
            }
        }
        Ok(s)
    }

    fn median_ratio(&self) -> Real {
        verify::median(&mut self.ratios.clone())
    }

    fn min_limit_cosine(&self) -> Real {
        self.limits.iter().map(|l| l.0).fold(1.0, Real::min)
    }

    fn max_limit_norm(&self) -> Real {
        self.limits.iter().map(|l| l.1).fold(0.0, Real::max)
    }

    /// The checks the property tests make, over these networks.
    fn violations(&self) -> Vec<String> {
        let name = self.top_down.describe();
        let mut out = Vec::new();
        if self.output > 1.0 {
            out.push(format!("{name}: an output error exceeds its first-order bound ({:.2}×)", self.output));
        }
        let min_ratio = self.ratios.iter().copied().fold(Real::INFINITY, Real::min);
        let max_ratio = self.ratios.iter().copied().fold(0.0, Real::max);
        if min_ratio < MIN_ERROR_RATIO || max_ratio > MAX_ERROR_RATIO {
            out.push(format!("{name}: λ ÷ 3 shrinks the errors {min_ratio:.2}× … {max_ratio:.2}×"));
        }
        let share = self.ratios.len() as Real / self.layers as Real;
        if share < MIN_MEASURED_SHARE || (self.median_ratio() / 3.0 - 1.0).abs() > MEDIAN_RATIO_TOLERANCE {
            out.push(format!(
                "{name}: median ratio {:.3} over {} layers, not 3 ± 5 %",
                self.median_ratio(),
                self.ratios.len()
            ));
        }
        if self.min_limit_cosine() < LIMIT_MIN_COSINE || self.max_limit_norm() > LIMIT_MAX_NORM_DEVIATION {
            out.push(format!(
                "{name}: λ → 0 limit cosine {} and norm deviation {:.1e}",
                one_minus(self.min_limit_cosine()),
                self.max_limit_norm()
            ));
        }
        if self.top_down == TopDown::Transpose && self.limits.iter().any(|l| l.2 < LIMIT_MIN_COSINE) {
            out.push(format!("{name}: the λ → 0 limit is not parallel to backprop"));
        }
        if self.euler.0 > ENGINE_AGREEMENT {
            out.push(format!("{name}: the Euler engine differs by {:.1} rounding errors", self.euler.0));
        }
        out
    }
}

fn print_summary(cases: u64, transpose: &Summary, random: &Summary) {
    println!("== random networks: {cases} seeded draws per kind of B; N = 2–4, widths 1–8,");
    println!("   logistic, softplus or soft rectifier, bias or not,");
    println!(
        "   weights U(−1, 1)/√fan-in, input U(0, 1), target U(−1, 1); λ = {}; fixed-point solver",
        LAMBDAS.iter().map(|l| format!("{l:.4}")).collect::<Vec<_>>().join(", ")
    );
    println!();
    println!("| quantity | B = Wᵀ | random B | required |");
    println!("|---|---|---|---|");
    let both = |f: &dyn Fn(&Summary) -> String| (f(transpose), f(random));
    let rows: Vec<(&str, (String, String), String)> = vec![
        ("layers", both(&|s| s.layers.to_string()), String::new()),
        (
            "output layer: largest relative error / first-order bound",
            both(&|s| format!("{:.2}", s.output)),
            "≤ 1".into(),
        ),
        (
            "error ratio for λ ÷ 3: min / median / max (layers measured)",
            both(&|s| {
                let min = s.ratios.iter().copied().fold(Real::INFINITY, Real::min);
                let max = s.ratios.iter().copied().fold(0.0, Real::max);
                format!("{min:.2} / {:.3} / {max:.1} ({})", s.median_ratio(), s.ratios.len())
            }),
            format!(
                "{MIN_ERROR_RATIO} … {MAX_ERROR_RATIO}, median 3 ± {:.0} %, in ≥ {:.0} % of layers",
                100.0 * MEDIAN_RATIO_TOLERANCE,
                100.0 * MIN_MEASURED_SHARE
            ),
        ),
        (
            "λ → 0 limit: least cosine with s_k G_k (layers)",
            both(&|s| format!("{} ({})", one_minus(s.min_limit_cosine()), s.limits.len())),
            format!("≥ {}", one_minus(LIMIT_MIN_COSINE)),
        ),
        (
            "λ → 0 limit: largest \\|‖ΔW_k‖ / (η s_k ‖G_k‖) − 1\\|",
            both(&|s| format!("{:.1e}", s.max_limit_norm())),
            format!("≤ {LIMIT_MAX_NORM_DEVIATION:.0e}"),
        ),
        (
            "λ → 0 limit: median cosine with backprop",
            both(&|s| {
                let mut c: Vec<Real> = s.limits.iter().map(|l| l.2).collect();
                format!("{:.6}", verify::median(&mut c))
            }),
            "B = Wᵀ: every one ≥ 1 − 1e-6".into(),
        ),
        (
            "no extrapolation, λ = 0.03 / 0.01: layers with cosine ≥ 1 − 1e-6 and norm within 0.1 % of s_k",
            both(&|s| {
                let pct = |(n, k): (usize, usize)| 100.0 * k as Real / n.max(1) as Real;
                format!("{:.0} % / {:.0} %", pct(s.literal[0]), pct(s.literal[1]))
            }),
            "not required (docs/verification.md)".into(),
        ),
        (
            "Euler vs fixed point at λ = 0.03: largest difference in rounding errors (networks)",
            both(&|s| format!("{:.2} ({})", s.euler.0, s.euler.1)),
            format!("≤ {ENGINE_AGREEMENT}"),
        ),
    ];
    for (quantity, (a, b), required) in rows {
        println!("| {quantity} | {a} | {b} | {required} |");
    }
}
