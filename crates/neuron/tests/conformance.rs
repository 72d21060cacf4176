//! The conformance suite every registered neuron model must pass.

use apical_neuron::{CompartmentParams, Drive, MODELS, Role, build};
use apical_numerics::rate::RateFn;

const ROLES: [Role; 3] = [Role::Pyramidal, Role::Interneuron, Role::Output];

fn drive_for<'a>(role: Role, v: &'a [f64], a: &'a [f64], n: &'a [f64]) -> Drive<'a> {
    match role {
        Role::Pyramidal => Drive { v_dend: v, v_apical: Some(a), nudge: None },
        Role::Interneuron | Role::Output => Drive { v_dend: v, v_apical: None, nudge: Some(n) },
    }
}

#[test]
fn steady_state_zeroes_the_drift_and_matches_the_formula() {
    let p = CompartmentParams::default();
    let (v, a, n) = ([0.7, -1.3], [0.2, 0.5], [-0.4, 2.0]);
    for (name, _) in MODELS {
        for role in ROLES {
            let model = build(name, role, &p).unwrap();
            let drive = drive_for(role, &v, &a, &n);
            let mut u = [0.0; 2];
            model.steady_state(&drive, &mut u);
            let mut du = [1.0; 2];
            model.drift(&u, &drive, &mut du);
            assert!(du.iter().all(|d| d.abs() < 1e-14), "{name} {role:?}: drift {du:?}");
            let c = p.role(role);
            for i in 0..2 {
                let expected = match role {
                    Role::Pyramidal => (c.g_dend * v[i] + c.g_apical * a[i]) / (c.g_lk + c.g_dend + c.g_apical),
                    _ => (c.g_dend * v[i] + c.g_nudge * n[i]) / (c.g_lk + c.g_dend + c.g_nudge),
                };
                assert!((u[i] - expected).abs() < 1e-14, "{name} {role:?}");
            }
        }
    }
}

#[test]
fn silent_apical_compartment_leaves_the_attenuated_prediction() {
    // In the self-predicting state v_A = 0 and the soma settles at v̂ = c v_B.
    let p = CompartmentParams::default();
    for (name, _) in MODELS {
        let model = build(name, Role::Pyramidal, &p).unwrap();
        let v = [0.9, -0.6, 2.5];
        let mut u = [0.0; 3];
        model.steady_state(&Drive { v_dend: &v, v_apical: Some(&[0.0; 3]), nudge: None }, &mut u);
        for i in 0..3 {
            assert!((u[i] - model.prediction_gain() * v[i]).abs() < 1e-15, "{name}");
        }
    }
}

#[test]
fn euler_relaxation_matches_the_exponential_with_error_proportional_to_dt() {
    // With a constant drive the soma relaxes as u(t) = u* + (u0 − u*) e^(−g t), g the total conductance.
    let p = CompartmentParams::default();
    for (name, _) in MODELS {
        for role in ROLES {
            let model = build(name, role, &p).unwrap();
            let (v, a, n) = ([1.5], [-0.5], [0.8]);
            let drive = drive_for(role, &v, &a, &n);
            let mut u_star = [0.0];
            model.steady_state(&drive, &mut u_star);
            let c = p.role(role);
            let g = c.g_lk + c.g_dend + if role == Role::Pyramidal { c.g_apical } else { c.g_nudge };
            let t_end = 2.0;
            let exact = u_star[0] + (0.0 - u_star[0]) * (-g * t_end).exp();
            let error = |dt: f64| {
                let mut u = [0.0];
                let mut du = [0.0];
                for _ in 0..(t_end / dt).round() as usize {
                    model.drift(&u, &drive, &mut du);
                    u[0] += dt * du[0];
                }
                (u[0] - exact).abs()
            };
            let (e1, e2) = (error(0.01), error(0.001));
            let ratio = e1 / e2;
            assert!((ratio - 10.0).abs() < 0.5, "{name} {role:?}: errors {e1} {e2}, ratio {ratio}");
        }
    }
}

#[test]
fn rate_at_rest_is_phi_of_u() {
    let p = CompartmentParams::default();
    for (name, _) in MODELS {
        for role in ROLES {
            let model = build(name, role, &p).unwrap();
            let u = [-1.0, 0.3, 4.0];
            let mut r = [0.0; 3];
            model.rate(&RateFn::Logistic, &u, &[0.0; 3], &mut r);
            // At rest every model emits φ(u) exactly as the slice map computes it.
            let mut phi_u = [0.0; 3];
            RateFn::Logistic.apply_slice(&u, &mut phi_u);
            assert_eq!(r, phi_u, "{name} {role:?}");
        }
    }
}

#[test]
fn unknown_models_are_named_in_the_error() {
    let e = build("hodgkin-huxley", Role::Output, &CompartmentParams::default()).unwrap_err();
    assert_eq!(e.to_string(), "unknown neuron model 'hodgkin-huxley' (known: dendritic, latent-equilibrium)");
}
