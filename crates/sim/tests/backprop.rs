//! Property tests of spec §6: in the self-predicting state, the microcircuit's steady-state Eq. 7
//! updates approximate backprop (B = Wᵀ) or feedback alignment (random B) to first order in the
//! nudging strength λ.
//!
//! Random networks have N = 2–4 weight layers, widths 1–8, weights U(−1, 1)/√fan-in, inputs
//! U(0, 1), target potentials U(−1, 1) and a smooth positive rate function; each is solved at
//! λ = 0.03, 0.01 and 0.0033 by the fixed-point solver or, in a quarter of the cases, by the Euler
//! engine. The number of cases comes from `PROPTEST_CASES` (`cargo xtask verify --cases N`).

use apical_numerics::{Real, rate::RateFn};
use apical_sim::SimError;
use apical_sim::verify::{
    self, Case, DEPTHS, Engine, LAMBDAS, MAX_ERROR_RATIO, MIN_ERROR_RATIO, RATE_FNS, ReferenceTable, TopDown, WIDTHS,
};
use proptest::prelude::*;
use proptest::sample::select;

/// Layer widths n_0 … n_N: N from [`DEPTHS`], every width from [`WIDTHS`].
fn layer_sizes() -> impl Strategy<Value = Vec<usize>> {
    DEPTHS.prop_flat_map(|depth| prop::collection::vec(WIDTHS, depth + 1))
}

/// One of the rate functions of [`RATE_FNS`].
fn rate_fn() -> impl Strategy<Value = RateFn> {
    select(RATE_FNS.to_vec())
}

/// Either kind of top-down weights.
fn top_down() -> impl Strategy<Value = TopDown> {
    prop_oneof![Just(TopDown::Transpose), Just(TopDown::Random)]
}

/// A random case with the given kind of top-down weights; the seed draws weights, input and target.
fn case(top_down: TopDown) -> impl Strategy<Value = Case> {
    (layer_sizes(), rate_fn(), any::<bool>(), 0..1_000_000u64)
        .prop_map(move |(sizes, phi, bias, seed)| Case::draw(&sizes, phi, bias, top_down, seed))
}

/// A random case with either kind of top-down weights.
fn any_case() -> impl Strategy<Value = Case> {
    top_down().prop_flat_map(case)
}

/// The fixed-point solver in three cases out of four, the Euler engine in the fourth.
fn engine() -> impl Strategy<Value = Engine> {
    prop_oneof![3 => Just(Engine::FixedPoint), 1 => Just(Engine::Euler)]
}

/// A simulation error as a test failure.
fn solved<T>(result: Result<T, SimError>) -> Result<T, TestCaseError> {
    result.map_err(|e| TestCaseError::fail(e.to_string()))
}

/// Checks the updates extrapolated to λ → 0 on every layer where the limit is measurable (always
/// on the output layer): each is s_k times the gradient it approximates, and with
/// `backprop_cosine` its cosine to the backprop gradient is at least [`verify::LIMIT_MIN_COSINE`].
fn check_limits(case: &Case, engine: Engine, backprop_cosine: bool) -> Result<(), TestCaseError> {
    let sweep = solved(verify::sweep(case, engine))?;
    let output = verify::limit(&sweep[1], &sweep[2], case.depth());
    prop_assert!(output.is_some(), "the output layer's limit is always measurable");
    for k in 1..=case.depth() {
        if let Some(l) = verify::limit(&sweep[1], &sweep[2], k) {
            prop_assert!(l.holds(), "{} layer {k}: {l:?}", case.describe());
            if backprop_cosine {
                prop_assert!(l.cosine_backprop >= verify::LIMIT_MIN_COSINE, "{} layer {k}: {l:?}", case.describe());
            }
        }
    }
    Ok(())
}

proptest! {
    /// ΔW_N/η = λ_N D_N (u_trgt − u^-_N) (r^-_{N−1})ᵀ to first order: the relative error stays
    /// within twice its leading terms, λ sup|φ″/φ′| max|u_trgt − u^-_N| + 2 λ² Γ_{N−1}.
    #[test]
    fn output_update_matches_the_first_order_formula(case in any_case(), engine in engine()) {
        for m in solved(verify::sweep(&case, engine))? {
            let check = m.output_check();
            prop_assert!(
                check.holds(),
                "{} at λ = {}: error {:.3e} > bound {:.3e}",
                case.describe(),
                m.lambda,
                check.rel_error,
                check.bound
            );
        }
    }

    /// Shrinking λ 3× shrinks a layer's relative error against the spec §6 formula 3× within a
    /// factor 1.5 (MIN_ERROR_RATIO … MAX_ERROR_RATIO), wherever the first-order term decides the
    /// error (see `verify::error_ratio`).
    #[test]
    fn every_layers_error_falls_in_proportion_to_lambda(case in any_case(), engine in engine()) {
        let sweep = solved(verify::sweep(&case, engine))?;
        for k in 1..=case.depth() {
            if let Some(ratio) = verify::error_ratio(&sweep, k) {
                prop_assert!(
                    (MIN_ERROR_RATIO..=MAX_ERROR_RATIO).contains(&ratio),
                    "{} layer {k}: λ ÷ 3 shrinks the error {ratio:.2}×",
                    case.describe()
                );
            }
        }
    }

    /// With B = Wᵀ, the update extrapolated to λ → 0 is s_k times the backprop gradient:
    /// cosine ≥ 1 − 10⁻⁶ and norm within 0.1 % of s_k ‖−∂L/∂W_k‖.
    #[test]
    fn with_transposed_feedback_the_update_becomes_backprop(case in case(TopDown::Transpose), engine in engine()) {
        check_limits(&case, engine, true)?;
    }

    /// With random B, the update extrapolated to λ → 0 is s_k times the feedback-alignment
    /// gradient, in which B_k replaces W_{k+1}ᵀ.
    #[test]
    fn with_random_feedback_the_update_becomes_feedback_alignment(case in case(TopDown::Random), engine in engine()) {
        check_limits(&case, engine, false)?;
    }

    /// The Euler engine, run until no drift is left, settles on the fixed point's updates.
    #[test]
    fn euler_engine_settles_on_the_fixed_point_updates(case in any_case(), lambda in select(LAMBDAS.to_vec())) {
        for (k, e) in solved(verify::engine_agreement(&case, verify::s_for_lambda(lambda)))?.iter().enumerate() {
            prop_assert!(e.holds(), "{} layer {} at λ = {lambda}: {e:?}", case.describe(), k + 1);
        }
    }
}

/// The 4-5-4-3 reference network behaves like the table of spec §6.
#[test]
fn reference_network_behaves_like_the_spec_table() {
    let table = ReferenceTable::compute().unwrap();
    let violations = table.violations();
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

/// Typically the error falls exactly in proportion to λ: over 32 seeded networks of each kind,
/// the ratio is measurable in at least 30 % of the layers and its median is 3 within 5 %.
#[test]
fn typical_error_ratio_is_three() {
    for top_down in [TopDown::Transpose, TopDown::Random] {
        let (mut ratios, mut layers): (Vec<Real>, usize) = (Vec::new(), 0);
        for seed in 0..32 {
            let case = Case::random(seed, top_down);
            let sweep = verify::sweep(&case, Engine::FixedPoint).unwrap();
            layers += case.depth();
            ratios.extend((1..=case.depth()).filter_map(|k| verify::error_ratio(&sweep, k)));
        }
        let share = ratios.len() as Real / layers as Real;
        assert!(
            share >= verify::MIN_MEASURED_SHARE,
            "{}: {} of {layers} layers measurable",
            top_down.describe(),
            ratios.len()
        );
        let median = verify::median(&mut ratios);
        let tolerance = verify::MEDIAN_RATIO_TOLERANCE;
        assert!((median / 3.0 - 1.0).abs() <= tolerance, "{}: median ratio {median}", top_down.describe());
    }
}

/// The comparison can fail: with the interneuron factor of a public reimplementation,
/// d = g_D/g_lk + g_D = 11 instead of g_D/(g_lk + g_D) (spec §11), W^IP is 12× too small, the
/// interneurons no longer predict the layer above, and the update is no longer backprop.
#[test]
fn a_wrong_interneuron_factor_is_caught() {
    let case = Case::reference();
    let s = verify::s_for_lambda(0.01);
    let g = verify::conductances(s);
    let (d, d_wrong) = (g.g_d / (g.g_lk + g.g_d), g.g_d / g.g_lk + g.g_d);
    let measure = |factor: Real| {
        let mut net = case.microcircuit(s).unwrap();
        for ip in &mut net.weights.ip {
            ip.w = ip.w.scaled(factor);
        }
        net.refresh();
        net.settle(1e-14, 100_000).unwrap();
        verify::measurement(&case, s, &net).compare()
    };
    for layer in &measure(1.0).layers {
        assert!(layer.rel_error < 1e-2, "{layer:?}");
    }
    let hidden = &measure(d / d_wrong).layers[0];
    assert!(hidden.rel_error > 1.0 && hidden.cosine_backprop < 0.99, "{hidden:?}");
}
