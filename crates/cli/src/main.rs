//! `comity`: the command line of Comity.
//!
//! The only crate that knows the terminal: it reads files and the clock, picks colours, and maps
//! errors to exit codes — 0 success, 1 a check that failed or an internal error, 2 bad input.

mod check;
mod cmd_backup;
mod cmd_bench;
mod cmd_case;
mod cmd_case_export;
mod cmd_db;
mod cmd_demo;
mod cmd_directory;
mod cmd_envelope;
mod cmd_init;
mod cmd_jit;
mod cmd_keys;
mod cmd_log;
mod cmd_log_export;
mod cmd_node;
mod cmd_notification;
mod cmd_report;
mod cmd_serve;
mod cmd_support;
mod cmd_transfer;
mod cmd_transport;
mod cmd_user;
mod diag;
mod lab;
mod log_source;
mod rules_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit status for input that is malformed or refers to something undefined.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit status for a check that ran and failed, or an internal error.
pub const EXIT_FAILED: u8 = 1;

#[derive(Parser, Debug)]
#[command(
    name = "comity",
    version,
    about = "Cross-border cybercrime cooperation with the treaty's safeguards built in"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Decide scenarios under the treaty rules: readable by default, `--json`, or `--verify`.
    Check(check::CheckArgs),
    /// Read and check the encoded treaty rules.
    #[command(subcommand)]
    Rules(rules_cmd::RulesCommand),
    /// Create a node: signing and encryption keys, TLS certificate, directory entry.
    Init(cmd_init::InitArgs),
    /// Build, sign, show and verify the authority directory.
    #[command(subcommand)]
    Directory(cmd_directory::DirectoryCommand),
    /// Rotate or revoke keys (each change is a new directory version).
    #[command(subcommand)]
    Keys(cmd_keys::KeysCommand),
    /// Seal, verify and open signed envelopes.
    #[command(subcommand)]
    Envelope(cmd_envelope::EnvelopeCommand),
    /// Work on one case of a node: new, send, clarify, decide, deliver, close, …
    #[command(subcommand)]
    Case(cmd_case::CaseCommand),
    /// List a node's cases; with --due, run the deadline task and list what is due.
    Cases(cmd_case::CasesArgs),
    /// Joint investigation teams (UNCC 48; SAP2 12, unverified): create, join, decline, post,
    /// open items, close, list, show.
    #[command(subcommand)]
    Jit(cmd_jit::JitCommand),
    /// Maintain a node: retention sweep, audit trail.
    #[command(subcommand)]
    Node(cmd_node::NodeCommand),
    /// Write a node's due envelopes to a directory (file transport), marking them delivered.
    Outbox(cmd_transport::OutboxArgs),
    /// Receive envelope files into a node, exactly once each.
    Inbox(cmd_transport::InboxArgs),
    /// Run a node: officer API, node-to-node endpoint (mutual TLS), delivery, deadlines.
    Serve(cmd_serve::ServeArgs),
    /// Create a node's database or bring its schema up to date (SQLite or PostgreSQL), before
    /// starting the node's replicas.
    Migrate(cmd_db::MigrateArgs),
    /// Back up a node's database to one file (SQLite or PostgreSQL, a consistent snapshot
    /// while the node runs), or check a backup offline with --verify.
    Backup(cmd_backup::BackupArgs),
    /// Restore a backup into an empty database of either backend, checked before anything is
    /// written: the restored node's log verifies and continues.
    Restore(cmd_backup::RestoreArgs),
    /// Start a local federation of four authorities on loopback and run scripted cases.
    Demo(cmd_demo::DemoArgs),
    /// Start a training sandbox: the demo's nodes with their fictional cases, every page marked
    /// as training, guided exercises checked by the treaty engine, and no real authority
    /// reachable (the same as `comity demo --training`).
    Training(cmd_demo::DemoArgs),
    /// Measure latency and throughput between two local nodes (`bench roundtrip`).
    #[command(subcommand)]
    Bench(cmd_bench::BenchCommand),
    /// Audit a published transparency log (a directory or URL in the C2SP tlog-tiles layout).
    #[command(subcommand)]
    Log(cmd_log::LogCommand),
    /// Verify a published log and compute its transparency report (json, table or html).
    ///
    /// The log is verified as by `comity log verify`, then every entry, in log order, must be a
    /// `comity.leaf/1` leaf (the first that is not is named by its index). Exit 0 with the
    /// report, 1 when the log does not verify or an entry is not a leaf, 2 on bad arguments or
    /// a source that cannot be read.
    Report(cmd_report::ReportArgs),
    /// Manage a node's accounts for the officer UI: add, set, list.
    #[command(subcommand)]
    User(cmd_user::UserCommand),
    /// The policy lab: decide generated scenarios under several instruments and report where
    /// and why their outcomes differ (run, diff, what-if).
    #[command(subcommand)]
    Lab(lab::LabCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Rules(cmd) => rules_cmd::run(cmd),
        Command::Init(args) => cmd_init::run(args),
        Command::Directory(cmd) => cmd_directory::run(cmd),
        Command::Keys(cmd) => cmd_keys::run(cmd),
        Command::Envelope(cmd) => cmd_envelope::run(cmd),
        Command::Case(cmd) => cmd_case::run(cmd),
        Command::Cases(args) => cmd_case::run_cases(args),
        Command::Node(cmd) => cmd_node::run(cmd),
        Command::Jit(cmd) => cmd_jit::run(cmd),
        Command::Outbox(args) => cmd_transport::run_outbox(args),
        Command::Inbox(args) => cmd_transport::run_inbox(args),

        Command::Serve(args) => cmd_serve::run(args),
        Command::Migrate(args) => cmd_db::migrate(args),
        Command::Backup(args) => cmd_backup::run_backup(args),
        Command::Restore(args) => cmd_backup::run_restore(args),
        Command::Demo(args) => cmd_demo::run(args),
        Command::Training(mut args) => {
            args.training = true;
            cmd_demo::run(args)
        }
        Command::Bench(cmd) => cmd_bench::run(cmd),
        Command::Log(cmd) => cmd_log::run(cmd),
        Command::Report(args) => cmd_report::run(args),
        Command::User(cmd) => cmd_user::run(cmd),
        Command::Lab(cmd) => lab::run(cmd),
    }
}
