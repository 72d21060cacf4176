//! Running the experiment whose settings the parent module defines.

use std::path::Path;

use apical_datasets::{Labelled, yin_yang};
use apical_numerics::{Real, rng};
use apical_plot::RegionPlot;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::{ClassifyConfig, Task};
use crate::engine::microcircuit::{Microcircuit, Snapshot, State};
use crate::engine::network::Weights;
use crate::experiments::checkpoint::{check_length, load_resume, save_checkpoint};
use crate::experiments::config::{ExperimentConfig, RunConfig};
use crate::experiments::context::{Report, RunContext};
use crate::experiments::error::SimError;
use crate::io::codec::encode;
use crate::io::record::Recorder;

/// The steady-state solver's tolerance and its most sweeps.
const SETTLE_TOL: Real = 1e-10;
const MAX_SWEEPS: usize = 10_000;

/// The columns of the metrics table: one row before training and one after every epoch.
const COLUMNS: [&str; 5] = ["epoch", "train_accuracy", "validation_accuracy", "test_accuracy", "unsettled"];

/// The best model so far: the earliest epoch with the highest validation accuracy.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Best {
    epoch: usize,
    validation: Real,
    test: Real,
    weights: Weights,
}

/// What `checkpoint.bin` keeps besides the weights, so that a resumed run continues exactly.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ResumeState {
    /// Epochs done.
    epochs: usize,
    /// The network's dynamic state.
    state: State,
    /// The noise generator.
    noise_rng: rng::Rng,
    /// The generator that shuffles the training set.
    shuffle: rng::Rng,
    /// The rows of the metrics table.
    rows: Vec<Vec<Real>>,
    best: Best,
}

/// The accuracy of a network with `weights` on `data` at the noise-free steady state without a
/// target, and the number of samples whose steady state the solver did not reach.
pub(crate) fn accuracy(cfg: &RunConfig, weights: &Weights, data: &Labelled) -> (Real, usize) {
    let mut probe = Microcircuit::with_weights(cfg, weights.clone());
    probe.set_sigma(0.0);
    let (mut right, mut unsettled) = (0, 0);
    for i in 0..data.len() {
        if classify(&mut probe, data.input(i), &mut unsettled) == data.label(i) {
            right += 1;
        }
    }
    (right as Real / data.len() as Real, unsettled)
}

/// The class a noise-free network without target gives `input` at its steady state: the output
/// with the highest potential. Counts a steady state the solver did not reach in `unsettled`.
pub(crate) fn classify(probe: &mut Microcircuit, input: &[Real], unsettled: &mut usize) -> usize {
    probe.set_input(input);
    if probe.settle(SETTLE_TOL, MAX_SWEEPS).is_none() {
        *unsettled += 1;
    }
    let u = probe.output_potentials();
    (0..u.len()).fold(0, |best, i| if u[i] > u[best] { i } else { best })
}

/// The cells of the map of decision regions.
const REGION_CELLS: usize = 100;

/// The classes the best network gives a grid over the unit square, with the test samples on top.
fn decision_regions(cfg: &RunConfig, best: &Best, test: &Labelled) -> RegionPlot {
    let mut probe = Microcircuit::with_weights(cfg, best.weights.clone());
    probe.set_sigma(0.0);
    let mut unsettled = 0;
    let centre = |i: usize| (i as Real + 0.5) / REGION_CELLS as Real;
    let cells = (0..REGION_CELLS * REGION_CELLS)
        .map(|i| {
            let (x, y) = (centre(i % REGION_CELLS), centre(i / REGION_CELLS));
            classify(&mut probe, &yin_yang::input_of(x, y), &mut unsettled)
        })
        .collect();
    RegionPlot {
        title: format!("Decision regions after epoch {} (test samples on top)", best.epoch),
        classes: yin_yang::CLASS_NAMES.iter().map(|s| s.to_string()).collect(),
        side: REGION_CELLS,
        extent: 1.0,
        cells,
        points: (0..test.len()).map(|i| (test.input(i)[0], test.input(i)[1], test.label(i))).collect(),
        size: (640, 640),
    }
}

/// The network and progress stored in `path`; only the number of epochs may differ.
fn resume_from(cfg: &RunConfig, path: &Path) -> Result<(Microcircuit, ResumeState), SimError> {
    let same_run = |c: &RunConfig| {
        let mut c = c.clone();
        if let ExperimentConfig::Classify(e) = &mut c.experiment {
            e.epochs = 0;
        }
        c
    };
    let (weights, r, _): (_, ResumeState, _) = load_resume(cfg, path, same_run, "experiment.classify.epochs")?;
    if let ExperimentConfig::Classify(e) = &cfg.experiment {
        check_length(r.epochs as u64, e.epochs as u64, "experiment.classify.epochs", path)?;
    }
    let snapshot = Snapshot { weights, state: r.state.clone(), noise_rng: r.noise_rng.clone() };
    let net = Microcircuit::restore(cfg, snapshot)
        .map_err(|m| SimError::Other(format!("--resume: {}: {m}", path.display())))?;
    Ok((net, r))
}

/// One row of the metrics table for the network's current weights.
fn measure(cfg: &RunConfig, weights: &Weights, epoch: usize, splits: &[Labelled; 3]) -> Vec<Real> {
    let mut unsettled = 0;
    let mut row = vec![epoch as Real];
    for data in splits {
        let (acc, n) = accuracy(cfg, weights, data);
        row.push(acc);
        unsettled += n;
    }
    row.push(unsettled as Real);
    row
}

pub(crate) fn run(cfg: &RunConfig, e: &ClassifyConfig, ctx: &RunContext<'_>) -> Result<Report, SimError> {
    let splits = e.task.splits();
    let train = &splits[0];
    let classes = train.classes();
    let [low, high] = e.target_potentials;
    let targets: Vec<Vec<Real>> =
        (0..classes).map(|c| (0..classes).map(|i| if i == c { high } else { low }).collect()).collect();

    let checkpoint = ctx.file("checkpoint.bin");
    let mut rec = Recorder::new(&COLUMNS);
    let (mut net, mut shuffle, mut best, done) = if ctx.resume {
        let (net, r) = resume_from(cfg, &checkpoint)?;
        for row in r.rows {
            rec.push(row);
        }
        (net, r.shuffle, r.best, r.epochs)
    } else {
        let net = Microcircuit::new(cfg)?;
        let row = measure(cfg, &net.weights, 0, &splits);
        let best = Best { epoch: 0, validation: row[2], test: row[3], weights: net.weights.clone() };
        rec.push(row);
        (net, rng::stream(cfg.seed, rng::Stream::Shuffle), best, 0)
    };

    let steps = net.steps_for(e.pattern_ms);
    let mut order: Vec<usize> = (0..train.len()).collect();
    ctx.progress.start("classify", ((e.epochs - done) * train.len()) as u64);
    for epoch in done + 1..=e.epochs {
        order.sort_unstable();
        order.shuffle(&mut shuffle);
        for &i in &order {
            net.set_input(train.input(i));
            net.set_target(Some(&targets[train.label(i)]));
            net.run_steps(steps, true)?;
            ctx.progress.advance(1);
        }
        let row = measure(cfg, &net.weights, epoch, &splits);
        if row[2] > best.validation {
            best = Best { epoch, validation: row[2], test: row[3], weights: net.weights.clone() };
        }
        rec.push(row);
        let Snapshot { weights, state, noise_rng } = net.snapshot();
        let resume = ResumeState {
            epochs: epoch,
            state,
            noise_rng,
            shuffle: shuffle.clone(),
            rows: rec.rows().to_vec(),
            best: best.clone(),
        };
        save_checkpoint(cfg, &weights, encode(&resume), &checkpoint)?;
        if epoch < e.epochs && ctx.progress.stop_after_checkpoint() {
            return Err(SimError::Stopped { experiment: "classify".into(), at: format!("epoch {epoch}") });
        }
    }
    ctx.progress.finish();

    let mut files = Vec::new();
    if let Task::YinYang { .. } = e.task {
        let path = ctx.file("regions.png");
        decision_regions(cfg, &best, &splits[2]).save_png(&path)?;
        files.push(path);
    }
    let best_file = ctx.file("best.bin");
    save_checkpoint(cfg, &best.weights, Vec::new(), &best_file)?;
    let csv = ctx.file("metrics.csv");
    rec.write_csv(&csv)?;
    let accuracy_png = ctx.file("accuracy.png");
    rec.plot(
        &accuracy_png,
        "Classification accuracy at the noise-free steady state",
        "epoch",
        &[("train_accuracy", "train"), ("validation_accuracy", "validation"), ("test_accuracy", "test")],
        "accuracy",
        false,
    )?;

    let last = rec.rows().last().expect("a row before training").clone();
    let unsettled: Real = rec.column("unsettled").iter().sum();
    let percent = |x: Real| format!("{:.2} %", 100.0 * x);
    let rows = vec![
        ("best epoch by validation accuracy".into(), best.epoch.to_string()),
        ("validation accuracy at the best epoch".into(), percent(best.validation)),
        ("test accuracy at the best epoch".into(), percent(best.test)),
        (
            format!("train / test accuracy after epoch {}", e.epochs),
            format!("{} / {}", percent(last[1]), percent(last[3])),
        ),
        ("steady states not reached (all epochs)".into(), unsettled.to_string()),
    ];
    let values = vec![
        ("best_epoch".into(), best.epoch as Real),
        ("best_validation_accuracy".into(), best.validation),
        ("test_accuracy".into(), best.test),
        ("final_train_accuracy".into(), last[1]),
        ("final_test_accuracy".into(), last[3]),
        ("unsettled".into(), unsettled),
    ];
    files.splice(0..0, [csv, accuracy_png, best_file, checkpoint]);
    Ok(Report { experiment: "classify".into(), rows, values, files })
}
