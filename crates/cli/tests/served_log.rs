#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The transparency log of running `comity serve` processes, as outsiders see it: served over
//! HTTP and exported to a directory, it verifies with `comity log verify` and with Go's
//! `tilecheck`, and the report `comity report` recomputes from it is byte for byte the report
//! the node serves.

mod federation;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use federation::*;
use serde_json::json;

fn comity_out(args: &[&str], dir: Option<&Path>) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_comity"));
    cmd.args(args);
    if let Some(d) = dir {
        cmd.arg(d);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn served_report(fed: &Federation, who: usize) -> String {
    let r = fed
        .http
        .get(fed.node(who).url("/v1/report"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_log_verifies_and_its_report_is_recomputed_from_it() {
    let fed = Federation::start().await;
    // One request executed, one refused with grounds.
    let kept = fed
        .create(&scenario("preservation", "UNCC", PRESERVATION, "", ""), BO)
        .await;
    fed.post(AR, &format!("/v1/cases/{kept}/send"), json!({}))
        .await;
    fed.state(BO, &kept, "received").await;
    fed.post(
        BO,
        &format!("/v1/cases/{kept}/decide"),
        json!({"disposition": "executed"}),
    )
    .await;
    fed.state(AR, &kept, "decided").await;
    let refused = fed
        .create(
            &scenario(
                "preservation",
                "BUD",
                PRESERVATION,
                "",
                "political_offence = true",
            ),
            BO,
        )
        .await;
    fed.post(AR, &format!("/v1/cases/{refused}/send"), json!({}))
        .await;
    fed.state(BO, &refused, "received").await;
    fed.post(
        BO,
        &format!("/v1/cases/{refused}/decide"),
        json!({"disposition": "refused", "grounds": ["political_offence"], "reasons": "a political offence under BUD 29(5)(a)"}),
    )
    .await;
    fed.state(AR, &refused, "decided").await;
    fed.quiet(AR).await;
    fed.quiet(BO).await;

    let tilecheck = comity_testkit::go_tool(env!("CARGO_MANIFEST_DIR"), "tilecheck");
    for who in [AR, BO] {
        let node = fed.node(who);
        let vkey_file = node.dir.join("log.vkey");
        let vkey = format!("@{}", vkey_file.display());
        let url = node.url("/log");

        // The checkpoint is signed shortly after the last write: wait until the served report
        // counts both decisions, then compare it with the one recomputed from the served log
        // (checking that the served one did not move meanwhile).
        let mut agreed = None;
        for _ in 0..100 {
            let served = served_report(&fed, who).await;
            let counted: serde_json::Value = serde_json::from_str(&served).unwrap();
            if counted["decisions"]["total"] == 2 {
                let (code, ours, err) = comity_out(
                    &[
                        "report", "--format", "json", "--quiet", "--vkey", &vkey, &url,
                    ],
                    None,
                );
                assert_eq!(code, 0, "{}: {err}", node.id);
                if ours == served && served_report(&fed, who).await == served {
                    agreed = Some(served);
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let served = agreed.unwrap_or_else(|| {
            panic!(
                "{}: the served report never counted both decisions and matched",
                node.id
            )
        });
        let report: serde_json::Value = serde_json::from_str(&served).unwrap();
        assert_eq!(report["format"], "comity.report/1");
        assert_eq!(report["decisions"]["total"], 2, "{}: {report}", node.id);
        assert_eq!(report["decisions"]["by_ground"]["political_offence"], 1);
        let direction = if who == AR { "sent" } else { "received" };
        assert_eq!(report["requests"][direction], 2, "{}: {report}", node.id);
        assert_eq!(report["events"]["directory_changed"], 1);

        // The served log verifies, every entry a leaf.
        let (code, out, err) = comity_out(
            &[
                "log", "verify", "--leaves", "--quiet", "--vkey", &vkey, &url,
            ],
            None,
        );
        assert_eq!(code, 0, "{}: {out}{err}", node.id);

        // An export made while the node serves verifies too, and its report is the same.
        let export = fed.tmp.path().join(format!("export-{}", node.id));
        let (code, out, err) = comity_out(
            &[
                "log",
                "export",
                "--node",
                node.dir.to_str().unwrap(),
                "--to",
            ],
            Some(&export),
        );
        assert_eq!(code, 0, "{}: {out}{err}", node.id);
        let (code, ours, err) = comity_out(
            &[
                "report",
                "--format",
                "json",
                "--quiet",
                "--vkey",
                &format!("@{}", export.join("vkey").display()),
                export.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(code, 0, "{}: {err}", node.id);
        assert_eq!(ours, served, "{}: the export's report", node.id);
        if let Some(tool) = &tilecheck {
            for location in [export.to_str().unwrap(), url.as_str()] {
                let key = std::fs::read_to_string(&vkey_file).unwrap();
                let out = Command::new(tool)
                    .arg(location)
                    .arg(key.trim())
                    .output()
                    .unwrap();
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "{} at {location}: {}",
                    node.id,
                    String::from_utf8_lossy(&out.stdout)
                );
            }
        }
    }
    fed.stop().await;
}
