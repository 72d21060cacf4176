//! `cargo xtask bench` (being written).

pub fn run(_args: &[String]) -> anyhow::Result<()> {
    let _ = super::workspace_root();
    anyhow::bail!("cargo xtask bench is not implemented yet")
}
