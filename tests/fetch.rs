//! `apical data fetch mnist` against a local HTTP server on 127.0.0.1 (no internet here).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{apical, error_line, temp_dir};

/// Serves the files of `root` over HTTP/1.1 on a free loopback port, for at most `max`
/// connections, and returns the base URL.
fn serve(root: PathBuf, max: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max) {
            let Ok(mut stream) = stream else { continue };
            let mut request = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // Skip the headers up to the empty line.
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                line.clear();
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_string();
            let (status, body) = match std::fs::read(root.join(&path)) {
                Ok(body) => ("200 OK", body),
                Err(_) => ("404 Not Found", b"not found".to_vec()),
            };
            let head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(&body));
        }
    });
    url
}

fn fetch(to: &Path, mirrors: &[&str]) -> Output {
    let mut args = vec!["data", "fetch", "mnist", "--to", to.to_str().unwrap()];
    for m in mirrors {
        args.extend(["--mirror", m]);
    }
    apical(&args, &std::env::temp_dir())
}

#[test]
fn damaged_or_missing_files_are_refused_and_nothing_is_kept() {
    let served = temp_dir("bad-mirror");
    // A gzip file with the wrong content, and no other file at all.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"not mnist").unwrap();
    std::fs::write(served.join("train-images-idx3-ubyte.gz"), gz.finish().unwrap()).unwrap();
    let url = serve(served.clone(), 4);
    let to = temp_dir("bad-to");
    let line = error_line(&fetch(&to, &[&url]));
    assert!(line.contains("train-images-idx3-ubyte.gz") && line.contains("checksum mismatch"), "{line}");
    // The folder `mnist/` that the failed download created is gone again.
    assert!(!to.join("mnist").exists());

    std::fs::remove_file(served.join("train-images-idx3-ubyte.gz")).unwrap();
    let line = error_line(&fetch(&to, &[&url]));
    assert!(line.contains("404"), "{line}");
    std::fs::remove_dir_all(&served).unwrap();
    std::fs::remove_dir_all(&to).unwrap();
}

#[test]
fn real_files_are_fetched_verified_and_loadable() {
    let Some(data) = std::env::var_os("APICAL_DATA_DIR") else {
        println!("skipped: APICAL_DATA_DIR is not set");
        return;
    };
    let url = serve(PathBuf::from(data).join("mnist"), 8);
    let to = temp_dir("real-to");
    let out = fetch(&to, &["http://127.0.0.1:9/unreachable", &url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mnist = apical::datasets::Mnist::load(&to.join("mnist")).unwrap();
    assert_eq!(mnist.len(apical::datasets::Split::Test), 10_000);
    // A second fetch finds every file present and verified, without any mirror.
    let out = fetch(&to, &["http://127.0.0.1:9/unreachable"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).matches("present and verified").count(), 4);
    std::fs::remove_dir_all(&to).unwrap();
}
