//! `apical data fetch mnist`: download the four MNIST files from public mirrors and verify them.
//!
//! Mirrors compress the files differently, so a file is identified by the SHA-256 of its
//! decompressed IDX content, which is the same everywhere. A file is kept, as the `.gz` the mirror
//! served, only when that checksum matches; it is written to a temporary name and renamed, so an
//! interrupted download never leaves a damaged file behind. Files already present and correct
//! are not downloaded again.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use crate::progress::status_line;
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::outdir::{missing_top, remove_empty_up_to};

/// The public mirrors tried in turn, each a folder holding `<name>.gz`.
pub const MNIST_MIRRORS: &[&str] =
    &["https://ossci-datasets.s3.amazonaws.com/mnist", "https://storage.googleapis.com/cvdf-datasets/mnist"];

/// The four files and the SHA-256 of their decompressed content.
pub const MNIST_FILES: [(&str, &str); 4] = [
    ("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    ("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    ("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    ("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
];

/// The hexadecimal SHA-256 of the gunzipped content of `gz`.
fn content_sha256(gz: &[u8]) -> Result<String> {
    let mut raw = Vec::new();
    flate2::read::MultiGzDecoder::new(gz).read_to_end(&mut raw).context("not a valid gzip file")?;
    Ok(Sha256::digest(&raw).iter().map(|b| format!("{b:02x}")).collect())
}

fn download(agent: &ureq::Agent, url: &str) -> Result<Vec<u8>> {
    let mut response = agent.get(url).call().with_context(|| format!("GET {url}"))?;
    response.body_mut().with_config().limit(100 << 20).read_to_vec().with_context(|| format!("reading {url}"))
}

/// Downloads every missing or damaged MNIST file into `<to>/mnist/`, trying `mirrors` in turn.
/// When that fails, the folders it created are removed again if they are empty.
pub fn fetch_mnist(to: &Path, mirrors: &[String]) -> Result<()> {
    // A mirror that cannot be downloaded from is refused before anything is created.
    if let Some(bad) = mirrors.iter().find(|m| !is_http_url(m)) {
        bail!("--mirror '{bad}' is not an http:// or https:// URL");
    }
    let dir = to.join("mnist");
    let created = missing_top(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let result = fetch_into(&dir, mirrors);
    if let (Err(_), Some(top)) = (&result, created) {
        remove_empty_up_to(&dir, &top);
    }
    result?;
    sayln!("MNIST is ready: pass --data {} or set APICAL_DATA_DIR={}", to.display(), to.display());
    Ok(())
}

/// True for `http://host…` and `https://host…`, the URLs a mirror can have.
fn is_http_url(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace))
}

/// Downloads every missing or damaged MNIST file into the existing folder `dir`.
fn fetch_into(dir: &Path, mirrors: &[String]) -> Result<()> {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(600))).build().into();
    for (name, expected) in MNIST_FILES {
        let path = dir.join(format!("{name}.gz"));
        if let Ok(bytes) = std::fs::read(&path)
            && content_sha256(&bytes).ok().as_deref() == Some(expected)
        {
            sayln!("{} is present and verified", path.display());
            continue;
        }
        let mut failures = Vec::new();
        let mut fetched = false;
        for mirror in mirrors {
            let url = format!("{}/{name}.gz", mirror.trim_end_matches('/'));
            status_line(&format!("downloading {url}"));
            let result = download(&agent, &url).and_then(|bytes| match content_sha256(&bytes)? {
                sum if sum == expected => Ok(bytes),
                sum => bail!("{url}: checksum mismatch: SHA-256 of the content is {sum}, expected {expected}"),
            });
            match result {
                Ok(bytes) => {
                    apical::sim::files::write_atomic(&path, &bytes)?;
                    sayln!("{} downloaded and verified", path.display());
                    fetched = true;
                    break;
                }
                Err(e) => failures.push(format!("{e:#}")),
            }
        }
        if !fetched {
            bail!("could not fetch {name}.gz from any mirror: {}", failures.join("; "));
        }
    }
    Ok(())
}
