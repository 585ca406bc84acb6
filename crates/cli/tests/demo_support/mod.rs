//! `comity demo` started for a test: its officer URLs and the logins it prints.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills a child process when dropped (the demo, chromedriver), whatever the test did.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A login printed by the demo: node, role, username, password.
#[derive(Debug, Clone)]
pub struct Login {
    pub node: String,
    pub role: String,
    pub username: String,
    pub password: String,
}

pub struct Demo {
    _child: Killed,
    pub dir: std::path::PathBuf,
    pub urls: Vec<(String, String)>,
    pub logins: Vec<Login>,
}

impl Demo {
    pub fn url(&self, node: &str) -> String {
        self.urls
            .iter()
            .find(|(n, _)| n == node)
            .map(|(_, u)| u.clone())
            .unwrap()
    }

    pub fn login(&self, node: &str, role: &str) -> Login {
        self.logins
            .iter()
            .find(|l| l.node == node && l.role == role)
            .cloned()
            .unwrap()
    }
}

/// Starts `comity demo` (serving after its script) and reads its URLs and logins.
pub fn demo(base: u16, dir: &std::path::Path) -> Demo {
    let mut child = Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(["demo", "--port-base", &base.to_string(), "--dir"])
        .arg(dir.join("federation"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Killed(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut urls = Vec::new();
    let mut logins = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "the demo did not start serving");
        let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [node, "officer", "API", url, ..] => urls.push(((*node).to_owned(), (*url).to_owned())),
            [node, role, username, "/", password]
                if ["officer", "supervisor", "auditor"].contains(role) =>
            {
                logins.push(Login {
                    node: (*node).to_owned(),
                    role: (*role).to_owned(),
                    username: (*username).to_owned(),
                    password: (*password).to_owned(),
                });
            }
            _ => {}
        }
        if line.contains("keeps serving") {
            break;
        }
        assert!(!line.contains("the script stopped"), "{line}");
    }
    // Keep draining the demo's output so that it never blocks on a full pipe.
    std::thread::spawn(move || while rx.recv().is_ok() {});
    assert_eq!(urls.len(), 4, "{urls:?}");
    assert_eq!(logins.len(), 12, "{logins:?}");
    Demo {
        _child: child,
        dir: dir.join("federation"),
        urls,
        logins,
    }
}
