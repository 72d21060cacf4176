//! `cargo xtask verify` (being written).

pub fn run(_args: &[String]) -> anyhow::Result<()> {
    let _ = super::workspace_root();
    anyhow::bail!("cargo xtask verify is not implemented yet")
}
