//! Running the experiment whose settings the parent module defines.

use apical_datasets::patterns::{PatternStream, test_set};
use apical_numerics::{Real, rng};

use super::FigS1Config;
use crate::engine::microcircuit::{Diverged, Microcircuit};
use crate::experiments::checkpoint::save_final;
use crate::experiments::config::RunConfig;
use crate::experiments::context::{Report, RunContext, fmt_sci};
use crate::experiments::error::SimError;
use crate::experiments::probe;
use crate::io::record::Recorder;

pub(crate) fn run(cfg: &RunConfig, e: &FigS1Config, ctx: &RunContext<'_>) -> Result<Report, SimError> {
    let mut net = Microcircuit::new(cfg)?;
    let n0 = cfg.network.sizes[0];
    let mut inputs = PatternStream::new(n0, e.inputs, rng::stream_seed(cfg.seed, rng::Stream::Inputs));
    let probes = test_set(n0, e.inputs, e.probes, rng::stream_seed(cfg.seed, rng::Stream::TestInputs));
    let g = &cfg.network.conductances;
    let columns = ["time_s", "pattern", "apical_sq", "mismatch", "dist_pi", "dist_ip"];
    let mut rec = Recorder::new(&columns);
    let mut record = |net: &Microcircuit, pattern: u64| {
        let m = probe(cfg, &net.weights, &probes);
        let (dist_pi, dist_ip) = net.weights.distance_from_self_predicting(g);
        let row = vec![net.time_ms() / 1000.0, pattern as Real, m.apical_sq, m.mismatch, dist_pi, dist_ip];
        if let Some(j) = row.iter().position(|x| !x.is_finite()) {
            let d = Diverged { step: net.state.step, time_ms: net.time_ms(), population: columns[j].into() };
            return Err(SimError::Other(format!("fig-s1, pattern {pattern}: {d}")));
        }
        rec.push(row);
        Ok(())
    };
    record(&net, 0)?;
    let steps = net.steps_for(e.pattern_ms);
    let mut pattern = vec![0.0; n0];
    ctx.progress.start("fig-s1", e.patterns);
    for p in 1..=e.patterns {
        inputs.next_into(&mut pattern);
        net.set_input(&pattern);
        net.run_steps(steps, true).map_err(|d| SimError::Other(format!("fig-s1, pattern {p}: {d}")))?;
        if p % e.record_every == 0 || p == e.patterns {
            record(&net, p)?;
        }
        ctx.progress.advance(1);
    }
    ctx.progress.finish();

    let csv = ctx.file("metrics.csv");
    rec.write_csv(&csv)?;
    let plot_apical = ctx.file("apical.png");
    rec.plot(
        &plot_apical,
        "Fig. S1: apical potential (noise-free probes)",
        "time_s",
        &[("apical_sq", "‖v_A‖²")],
        "‖v_A‖²",
        true,
    )?;
    let plot_mismatch = ctx.file("mismatch.png");
    let mismatch = [("mismatch", "‖u_2 − u^I_1‖²")];
    rec.plot(
        &plot_mismatch,
        "Fig. S1: interneuron mismatch (noise-free probes)",
        "time_s",
        &mismatch,
        "squared mismatch",
        true,
    )?;
    let plot_lateral = ctx.file("lateral.png");
    let lateral = [("dist_pi", "‖W^PI + B‖"), ("dist_ip", "‖W^IP − (c/d) W‖")];
    rec.plot(
        &plot_lateral,
        "Fig. S1: distance of the lateral weights from spec §5",
        "time_s",
        &lateral,
        "Frobenius distance",
        true,
    )?;
    let checkpoint = save_final(cfg, &net.weights, &ctx.out_dir)?;

    let first = &rec.rows()[0];
    let last = rec.rows().last().expect("recorded");
    let rows = vec![
        ("simulated time".into(), format!("{:.1} s ({} patterns)", net.time_ms() / 1000.0, e.patterns)),
        ("‖v_A‖² start → end".into(), format!("{} → {}", fmt_sci(first[2]), fmt_sci(last[2]))),
        ("‖v_A‖² reduction".into(), format!("{:.0}×", first[2] / last[2])),
        ("mismatch start → end".into(), format!("{} → {}", fmt_sci(first[3]), fmt_sci(last[3]))),
        ("mismatch reduction".into(), format!("{:.0}×", first[3] / last[3])),
        ("‖W^PI + B‖ start → end".into(), format!("{:.3} → {:.3}", first[4], last[4])),
        ("‖W^IP − (c/d)W‖ start → end".into(), format!("{:.3} → {:.3}", first[5], last[5])),
    ];
    let values = vec![
        ("simulated_time_s".into(), net.time_ms() / 1000.0),
        ("patterns".into(), e.patterns as Real),
        ("apical_sq_start".into(), first[2]),
        ("apical_sq_end".into(), last[2]),
        ("mismatch_start".into(), first[3]),
        ("mismatch_end".into(), last[3]),
        ("dist_pi_start".into(), first[4]),
        ("dist_pi_end".into(), last[4]),
        ("dist_ip_start".into(), first[5]),
        ("dist_ip_end".into(), last[5]),
    ];
    let files = vec![csv, plot_apical, plot_mismatch, plot_lateral, checkpoint];
    Ok(Report { experiment: "fig-s1".into(), rows, values, files })
}
