//! `comity case …` and `comity cases`: the officer's commands over a node's cases.
//!
//! Each command opens the node, runs one use case (one atomic change, or none on an error),
//! and prints a short result, or JSON with `--json`. Errors the officer can fix (unknown case,
//! illegal transition, refusal without reasons, excluded ground, …) exit 2 with the node's
//! error code; storage and internal errors exit 1.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use comity_node::{
    Assessment, CaseDoc, CaseView, DeadlineView, DecideInput, DeliverInput, Disposition, NewCase,
    ProductionOrderInput, ProsecutionSubmission, Side, State,
};
use comity_store::CaseFilter;
use comity_types::{Code, Content, DataCategory, Facts, Ground};
use serde_json::{Value, json};

use crate::cmd_node::{
    Failure, NodeArgs, NodeHandle, print_json, print_json_line, run_async, to_json,
};
use crate::cmd_support::out;

#[derive(clap::Subcommand, Debug)]
pub enum CaseCommand {
    /// Create a request from a scenario file; the engine checks it (`checked` or `draft`).
    New {
        #[command(flatten)]
        node: NodeArgs,
        /// The requested authority's id.
        #[arg(long, value_name = "AUTHORITY")]
        to: String,
        /// An idempotency key: a reference used before returns its case instead of a new one.
        #[arg(long, value_name = "REF")]
        reference: Option<String>,
        /// A suggested deadline in hours (UNCC 40(26)); needs --reason.
        #[arg(long, value_name = "N", requires = "reason")]
        hours: Option<u32>,
        /// The reasons for the suggested deadline.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// The request's facts (`comity.scenario/1`).
        scenario: PathBuf,
    },
    /// Create and send one request per scenario file in a directory (`*.toml`, by name), with
    /// the scenario id as reference: a restarted import creates and sends each case once.
    Import {
        #[command(flatten)]
        node: NodeArgs,
        /// The requested authority's id.
        #[arg(long, value_name = "AUTHORITY")]
        to: String,
        /// The directory of scenario files.
        scenarios: PathBuf,
    },
    /// List cases, newest first.
    List {
        #[command(flatten)]
        node: NodeArgs,
        /// Only cases in this state (draft, checked, sent, received, clarification_asked,
        /// consulting, decided, delivered, closed).
        #[arg(long, value_name = "S")]
        state: Option<String>,
    },
    /// Show a case with its history and deadlines (recorded in the audit trail).
    Show {
        #[command(flatten)]
        node: NodeArgs,
        /// The case id.
        case: String,
    },
    /// Send a checked request; a draft the engine finds nonconforming only with --override.
    Send {
        #[command(flatten)]
        node: NodeArgs,
        /// The case id.
        case: String,
        /// Why a request the engine finds nonconforming (contents missing) is sent anyway;
        /// recorded in the case, its history and the audit trail.
        #[arg(long = "override", value_name = "TEXT")]
        override_reason: Option<String>,
    },
    /// Replace the facts of a request not yet sent, and check it again.
    Revise {
        #[command(flatten)]
        node: NodeArgs,
        /// The case id.
        case: String,
        scenario: PathBuf,
    },
    /// The requested Party's own assessment of the facts: a file shaped like the scenario
    /// format's `[request.facts]` table (unknown fields are errors).
    Assess {
        #[command(flatten)]
        node: NodeArgs,
        /// The case id.
        case: String,
        facts: PathBuf,
    },
    /// Ask the requesting Party for more information (requested side).
    Clarify {
        #[command(flatten)]
        node: NodeArgs,
        /// The case id.
        case: String,
        #[arg(long, value_name = "TEXT")]
        question: String,
    },
    /// Answer the requested Party's question (requesting side), optionally supplying contents.
    Answer {
        #[command(flatten)]
        node: NodeArgs,
        /// The case id.
        case: String,
        #[arg(long, value_name = "TEXT")]
        text: String,
        /// A content the answer adds to the request (repeatable), e.g. `time_period`.
        #[arg(long = "supply", value_name = "CONTENT")]
        supply: Vec<String>,
    },
    /// Consult the requesting Party before refusing or postponing.
    Consult {
        #[command(flatten)]
        node: NodeArgs,
        /// The case id.
        case: String,
        /// A ground the refusal would rely on (repeatable).
        #[arg(long = "ground", value_name = "G")]
        grounds: Vec<String>,
        #[arg(long, value_name = "TEXT")]
        text: String,
    },
    /// Record the decision and tell the requesting Party.
    Decide {
        #[command(flatten)]
        node: NodeArgs,
        /// The case id.
        case: String,
        /// executed, partially_executed, conditionally_executed, postponed or refused.
        #[arg(long)]
        disposition: String,
        /// A ground relied on (repeatable).
        #[arg(long = "ground", value_name = "G")]
        grounds: Vec<String>,
        /// The reasons (mandatory for refusal and postponement).
        #[arg(long, value_name = "TEXT")]
        reasons: Option<String>,
        /// A condition of execution (repeatable).
        #[arg(long = "condition", value_name = "TEXT")]
        conditions: Vec<String>,
        /// Aut dedere aut judicare: the authority the case was submitted to for prosecution.
        #[arg(long, value_name = "A", requires = "prosecution_reference")]
        prosecution_authority: Option<String>,
        /// … and its reference.
        #[arg(long, value_name = "R", requires = "prosecution_authority")]
        prosecution_reference: Option<String>,
        /// Why a request the engine finds not applicable or nonconforming is executed anyway.
        #[arg(long = "override", value_name = "TEXT")]
        override_reason: Option<String>,
    },
    /// Notify the requesting Party that preservation will not ensure availability.
    Notify {
        #[command(flatten)]
        node: NodeArgs,
        /// The case id.
        case: String,
        #[arg(long, value_name = "TEXT")]
        text: String,
    },
    /// Ask the requested Party to extend preservation before the period ends.
    Extend {
        #[command(flatten)]
        node: NodeArgs,
        /// The case id.
        case: String,
        #[arg(long, value_name = "TEXT")]
        text: String,
    },
    /// Deliver the results: each file an item, hashed, sealed to the requesting Party; items
    /// received from a service provider are delivered on by id with their chain of custody. On
    /// a production order (provider side): comply by delivering the data produced.
    Deliver {
        #[command(flatten)]
        node: NodeArgs,
        /// The case id.
        case: String,
        /// The files to deliver (named by their file names).
        #[arg(long = "item", value_name = "FILE", num_args = 1.., required_unless_present = "received")]
        items: Vec<PathBuf>,
        /// An item received for the case under a production order, by id (repeatable).
        #[arg(long = "received", value_name = "ITEM")]
        received: Vec<String>,
        /// The recipient deletes the data this many days after delivery.
        #[arg(long, value_name = "N")]
        retention_days: Option<u32>,
    },
    /// Issue a domestic production order (UNCC 27, BUD 18) to a service provider of this
    /// node's Party, for a request this node decided to execute. Domestic law governs it; the
    /// treaty engine does not decide it.
    Order {
        #[command(flatten)]
        node: NodeArgs,
        /// The executed request the order carries out.
        case: String,
        /// The service provider's authority id.
        #[arg(long, value_name = "AUTHORITY")]
        to: String,
        /// A category of data to produce (repeatable): subscriber, traffic, content.
        #[arg(long = "data", value_name = "CATEGORY", required = true)]
        data: Vec<String>,
        /// The account, number or other identifier whose data is sought.
        #[arg(long, value_name = "ID")]
        subject: String,
        /// First day of the period sought (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        from: String,
        /// Last day of the period sought (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        until: String,
        /// The domestic legal basis cited.
        #[arg(long, value_name = "TEXT")]
        legal_basis: String,
        /// Produce by the end of this day (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        due: String,
        /// The provider may disclose the order (by default it must not, in particular not to
        /// the subject).
        #[arg(long)]
        not_confidential: bool,
        #[arg(long, value_name = "TEXT")]
        instructions: Option<String>,
        /// An idempotency key: the same reference for the same case returns the order issued.
        #[arg(long, value_name = "REF")]
        reference: Option<String>,
    },
    /// Object to a production order, with reasons (service provider side).
    Object {
        #[command(flatten)]
        node: NodeArgs,
        /// The production order's case id.
        case: String,
        #[arg(long, value_name = "TEXT")]
        reasons: String,
    },
    /// Close a case; its open deadlines are cancelled.
    Close {
        #[command(flatten)]
        node: NodeArgs,
        /// The case id.
        case: String,
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// Confirm, as the second officer, an emergency request flagged on receipt (a recent
    /// signing key, a first emergency, a burst): until then nothing is delivered for it.
    ConfirmEmergency {
        #[command(flatten)]
        node: NodeArgs,
        /// The case id.
        case: String,
        /// What you checked (e.g. called the sender's duty officer back on the number on file).
        #[arg(long, value_name = "TEXT")]
        note: String,
    },
    /// Spontaneous information (UNCC 40(4)–(5), BUD 26): send, accept, decline, release,
    /// withdraw, disclose.
    #[command(subcommand)]
    Spontaneous(crate::cmd_transfer::SpontaneousCommand),
    /// Onward transfer of data received (UNCC 36(3)): request, grant, refuse, revoke, forward.
    #[command(subcommand)]
    Transfer(crate::cmd_transfer::TransferCommand),
    /// The data subject's notification and its restriction: show, restrict, rejustify, lift,
    /// notified.
    #[command(subcommand)]
    Notification(crate::cmd_notification::NotificationCommand),
    /// Export a delivered item to a file (recorded in the audit trail).
    Item {
        #[command(flatten)]
        node: NodeArgs,
        /// The case id.
        case: String,
        /// The item id (as `case show` lists it).
        item: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Export a case: the T-CY preservation request form of a BUD preservation or
    /// traffic-data disclosure request (a printable HTML document, JSON with --json), or the
    /// portable signed bundle of any case (docs/interop.md). Recorded in the audit trail.
    Export {
        #[command(flatten)]
        node: NodeArgs,
        /// The case id.
        case: String,
        #[arg(long, value_enum)]
        format: crate::cmd_case_export::ExportFormat,
        /// Write to FILE instead of standard output.
        #[arg(long = "out", value_name = "FILE")]
        out_file: Option<PathBuf>,
        /// The language of the T-CY form's labels (en, fr).
        #[arg(long, value_name = "LANG", default_value = "en")]
        lang: String,
    },
    /// Verify a bundle offline, with only the file and a trust anchor: every signature, every
    /// sender key, every leaf's inclusion proof to the checkpoint and its cosignatures, the
    /// leaves against the case's events. Exit 0 verified, 1 naming what failed, 2 unreadable.
    VerifyBundle {
        /// The bundle file (`-` for standard input).
        file: PathBuf,
        /// A directory version the verifier trusts (the bundle's must be it or an earlier one).
        #[arg(
            long,
            value_name = "TRUSTED.json",
            conflicts_with = "pin",
            required_unless_present = "pin"
        )]
        directory: Option<PathBuf>,
        /// The key id of the exporting node's signing key, as `comity init` prints it.
        #[arg(long, value_name = "KEY-FINGERPRINT")]
        pin: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `comity cases`: the case list, or with `--due` the deadline task and what is due.
#[derive(clap::Args, Debug)]
pub struct CasesArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// Run the deadline task, then list the deadlines that are due or overdue.
    #[arg(long)]
    due: bool,
    /// Only cases in this state.
    #[arg(long, value_name = "S", conflicts_with = "due")]
    state: Option<String>,
}

pub fn run_cases(args: CasesArgs) -> ExitCode {
    let json = args.node.json;
    run_async(json, async move {
        let h = NodeHandle::open(&args.node).await?;
        if args.due {
            due(&h).await
        } else {
            list(&h, args.state.as_deref()).await
        }
    })
}

pub fn run(cmd: CaseCommand) -> ExitCode {
    let json = match &cmd {
        CaseCommand::Notification(cmd) => crate::cmd_notification::json(cmd),
        CaseCommand::New { node, .. }
        | CaseCommand::Import { node, .. }
        | CaseCommand::List { node, .. }
        | CaseCommand::Show { node, .. }
        | CaseCommand::Send { node, .. }
        | CaseCommand::Revise { node, .. }
        | CaseCommand::Assess { node, .. }
        | CaseCommand::Clarify { node, .. }
        | CaseCommand::Answer { node, .. }
        | CaseCommand::Consult { node, .. }
        | CaseCommand::Decide { node, .. }
        | CaseCommand::Notify { node, .. }
        | CaseCommand::Extend { node, .. }
        | CaseCommand::Deliver { node, .. }
        | CaseCommand::Order { node, .. }
        | CaseCommand::Object { node, .. }
        | CaseCommand::Close { node, .. }
        | CaseCommand::ConfirmEmergency { node, .. }
        | CaseCommand::Item { node, .. }
        | CaseCommand::Export { node, .. } => node.json,
        CaseCommand::Spontaneous(c) => c.node().json,
        CaseCommand::Transfer(c) => c.node().json,
        CaseCommand::VerifyBundle { json, .. } => *json,
    };
    run_async(json, dispatch(cmd))
}

async fn dispatch(cmd: CaseCommand) -> Result<(), Failure> {
    match cmd {
        CaseCommand::Export {
            node,
            case,
            format,
            out_file,
            lang,
        } => crate::cmd_case_export::export(node, case, format, out_file, lang).await,
        CaseCommand::VerifyBundle {
            file,
            directory,
            pin,
            json,
        } => {
            crate::cmd_case_export::verify_bundle(&file, directory.as_deref(), pin.as_deref(), json)
        }
        CaseCommand::New {
            node,
            to,
            reference,
            hours,
            reason,
            scenario,
        } => {
            let text = read_scenario(&scenario)?;
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .new_case(
                    h.officer()?,
                    NewCase {
                        scenario: text,
                        counterpart: to,
                        respond_within_hours: hours,
                        deadline_reason: reason,
                        reference,
                    },
                )
                .await?;
            changed(&h, "created", &doc, true)
        }
        CaseCommand::Import {
            node,
            to,
            scenarios,
        } => {
            let h = NodeHandle::open(&node).await?;
            import(&h, &to, &scenarios).await
        }
        CaseCommand::List { node, state } => {
            let h = NodeHandle::open(&node).await?;
            list(&h, state.as_deref()).await
        }
        CaseCommand::Show { node, case } => {
            let h = NodeHandle::open(&node).await?;
            let view = h.node.show(h.officer()?, &case).await?;
            if h.json {
                print_json(&to_json(&view)?);
            } else {
                out(&render_view(&view));
            }
            Ok(())
        }
        CaseCommand::Send {
            node,
            case,
            override_reason,
        } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .send_with(h.officer()?, &case, override_reason.as_deref())
                .await?;
            changed(&h, "sent", &doc, false)
        }
        CaseCommand::Revise {
            node,
            case,
            scenario,
        } => {
            let text = read_scenario(&scenario)?;
            let h = NodeHandle::open(&node).await?;
            let doc = h.node.revise(h.officer()?, &case, &text).await?;
            changed(&h, "revised", &doc, true)
        }
        CaseCommand::Assess { node, case, facts } => {
            let facts = read_facts(&facts)?;
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .assess(h.officer()?, &case, Assessment { facts })
                .await?;
            changed(&h, "assessed", &doc, true)
        }
        CaseCommand::Clarify {
            node,
            case,
            question,
        } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .ask_clarification(h.officer()?, &case, &question)
                .await?;
            changed(&h, "asked for clarification in", &doc, false)
        }
        CaseCommand::Answer {
            node,
            case,
            text,
            supply,
        } => {
            let supplied = codes::<Content>("--supply", &supply)?;
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .answer_clarification(h.officer()?, &case, &text, &supplied)
                .await?;
            changed(&h, "answered", &doc, true)
        }
        CaseCommand::Consult {
            node,
            case,
            grounds,
            text,
        } => {
            let grounds = codes::<Ground>("--ground", &grounds)?;
            let h = NodeHandle::open(&node).await?;
            let doc = h.node.consult(h.officer()?, &case, &grounds, &text).await?;
            changed(&h, "consulted on", &doc, false)
        }
        CaseCommand::Decide {
            node,
            case,
            disposition,
            grounds,
            reasons,
            conditions,
            prosecution_authority,
            prosecution_reference,
            override_reason,
        } => {
            let disposition: Disposition = serde_json::from_value(Value::String(disposition.clone()))
                .map_err(|_| {
                    Failure::bad_input(format!(
                        "--disposition `{disposition}`: expected executed, partially_executed, conditionally_executed, postponed or refused"
                    ))
                })?;
            let grounds = codes::<Ground>("--ground", &grounds)?;
            let prosecution = match (prosecution_authority, prosecution_reference) {
                (Some(authority), Some(reference)) => Some(ProsecutionSubmission {
                    authority,
                    reference,
                }),
                _ => None,
            };
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .decide(
                    h.officer()?,
                    &case,
                    DecideInput {
                        disposition,
                        grounds,
                        reasons: reasons.unwrap_or_default(),
                        conditions,
                        prosecution,
                        override_reason,
                    },
                )
                .await?;
            changed(&h, "decided", &doc, false)
        }
        CaseCommand::Notify { node, case, text } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .notify_unavailable(h.officer()?, &case, &text)
                .await?;
            changed(&h, "sent a notice in", &doc, false)
        }
        CaseCommand::Extend { node, case, text } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h.node.request_extension(h.officer()?, &case, &text).await?;
            changed(&h, "asked for an extension in", &doc, false)
        }
        CaseCommand::Deliver {
            node,
            case,
            items,
            received,
            retention_days,
        } => {
            let mut files = Vec::new();
            for path in &items {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .ok_or_else(|| {
                        Failure::bad_input(format!("--item `{}` is not a file", path.display()))
                    })?;
                let bytes = std::fs::read(path).map_err(|e| {
                    Failure::bad_input(format!("cannot read item `{}`: {e}", path.display()))
                })?;
                files.push((name, bytes));
            }
            let h = NodeHandle::open(&node).await?;
            let input = DeliverInput {
                items: files,
                received,
                retention_days,
            };
            let doc = h.node.deliver_with(h.officer()?, &case, &input).await?;
            changed(&h, "delivered results in", &doc, false)
        }
        CaseCommand::Order {
            node,
            case,
            to,
            data,
            subject,
            from,
            until,
            legal_basis,
            due,
            not_confidential,
            instructions,
            reference,
        } => {
            let data = codes::<DataCategory>("--data", &data)?;
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .issue_production_order(
                    h.officer()?,
                    &case,
                    ProductionOrderInput {
                        provider: to,
                        data,
                        subject,
                        period_from: from,
                        period_to: until,
                        legal_basis,
                        due,
                        confidential: !not_confidential,
                        instructions,
                        reference,
                    },
                )
                .await?;
            changed(&h, "issued production order", &doc, false)
        }
        CaseCommand::Object {
            node,
            case,
            reasons,
        } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h.node.object(h.officer()?, &case, &reasons).await?;
            changed(&h, "objected to", &doc, false)
        }
        CaseCommand::Close { node, case, reason } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h.node.close(h.officer()?, &case, &reason).await?;
            changed(&h, "closed", &doc, false)
        }
        CaseCommand::ConfirmEmergency { node, case, note } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h.node.confirm_emergency(h.officer()?, &case, &note).await?;
            changed(&h, "confirmed the emergency of", &doc, false)
        }
        CaseCommand::Spontaneous(c) => crate::cmd_transfer::spontaneous(c).await,
        CaseCommand::Transfer(c) => crate::cmd_transfer::transfer(c).await,
        CaseCommand::Notification(cmd) => crate::cmd_notification::dispatch(cmd).await,
        CaseCommand::Item {
            node,
            case,
            item,
            out: path,
        } => {
            let h = NodeHandle::open(&node).await?;
            let bytes = h.node.open_item(h.officer()?, &case, &item).await?;
            crate::cmd_transport::write_durably(&path, &bytes)?;
            let sha = comity_crypto::Sha256Digest::of(&bytes).to_string();
            if h.json {
                print_json(
                    &json!({"case": case, "item": item, "file": path, "size": bytes.len(), "sha256": sha}),
                );
            } else {
                out(&format!(
                    "wrote {} ({} bytes, sha256 {sha})\n",
                    path.display(),
                    bytes.len()
                ));
            }
            Ok(())
        }
    }
}

/// Reads a scenario file and checks it with the scenario parser, so that errors name the file,
/// line and field.
fn read_scenario(path: &Path) -> Result<String, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::bad_input(format!("cannot read `{}`: {e}", path.display())))?;
    comity_scenario::parse(&path.display().to_string(), &text)
        .map_err(|e| Failure::bad_input(e.to_string()))?;
    Ok(text)
}

/// The smallest scenario the parser accepts; a facts file is read as its `[request.facts]`.
const FACTS_FRAME: &str = r#"format = "comity.scenario/1"
id = "facts"
date = "2027-01-01"
[parties.AR]
instruments = ["UNCC"]
[parties.BO]
instruments = ["UNCC"]
[request]
from = "AR"
to = "BO"
basis = "UNCC"
kind = "mla"
[request.offence]
category = "illegal_access"
max_penalty_years = 1
max_penalty_years_requested = 1
"#;

/// Reads a facts file by the scenario parser's own rules (unknown fields and codes are errors):
/// either the body of a `[request.facts]` table, or a file that starts with that header.
fn read_facts(path: &Path) -> Result<Facts, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::bad_input(format!("cannot read `{}`: {e}", path.display())))?;
    facts_from_text(&path.display().to_string(), &text).map_err(Failure::bad_input)
}

fn facts_from_text(name: &str, text: &str) -> Result<Facts, String> {
    let has_header = text.lines().any(|l| l.trim() == "[request.facts]");
    let mut doc = String::from(FACTS_FRAME);
    let mut offset = FACTS_FRAME.lines().count();
    if !has_header {
        doc.push_str("[request.facts]\n");
        offset += 1;
    }
    doc.push_str(text);
    match comity_scenario::parse(name, &doc) {
        Ok(file) => Ok(file.scenario.request.facts),
        Err(mut e) => {
            e.line = e.line.saturating_sub(offset).max(1);
            e.span = None;
            Err(e.to_string())
        }
    }
}

fn codes<T: Code>(flag: &str, values: &[String]) -> Result<Vec<T>, Failure> {
    values
        .iter()
        .map(|v| {
            T::from_code(v).ok_or_else(|| {
                Failure::bad_input(format!(
                    "{flag} `{v}` is not a {}: expected one of {}",
                    T::WHAT,
                    T::expected()
                ))
            })
        })
        .collect()
}

fn parse_state(state: Option<&str>) -> Result<Option<String>, Failure> {
    state
        .map(|s| {
            State::parse(s).map(|st| st.as_str().to_owned()).ok_or_else(|| {
                Failure::bad_input(format!(
                    "--state `{s}`: expected draft, checked, sent, received, clarification_asked, consulting, decided, delivered or closed"
                ))
            })
        })
        .transpose()
}

async fn list(h: &NodeHandle, state: Option<&str>) -> Result<(), Failure> {
    let filter = CaseFilter {
        state: parse_state(state)?,
        ..CaseFilter::default()
    };
    let cases = h.node.list(&filter).await?;
    if h.json {
        print_json(&to_json(&cases)?);
        return Ok(());
    }
    if cases.is_empty() {
        out("no cases\n");
    }
    for c in &cases {
        out(&format!("{}\n", one_line(c)));
    }
    Ok(())
}

async fn due(h: &NodeHandle) -> Result<(), Failure> {
    let changed = h.node.tick().await?;
    let due = h.node.due().await?;
    if h.json {
        print_json(&json!({"changed": to_json(&changed)?, "due": to_json(&due)?}));
        return Ok(());
    }
    for d in &changed {
        out(&format!("now {:<8} {}  case {}\n", d.state, d.name, d.case));
    }
    if due.is_empty() {
        out("nothing due\n");
    }
    for d in &due {
        out(&format!("{}\n", deadline_line(d)));
    }
    Ok(())
}

fn deadline_line(d: &DeadlineView) -> String {
    let cites = d
        .data
        .get("cites")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|s| !s.is_empty())
        .map(|s| format!("  ({s})"))
        .unwrap_or_default();
    format!(
        "{:<9} {}  {:<20} case {}{cites}",
        d.state, d.due_at, d.name, d.case
    )
}

async fn import(h: &NodeHandle, to: &str, dir: &Path) -> Result<(), Failure> {
    let officer = h.officer()?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Failure::bad_input(format!("cannot read `{}`: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut refused = 0usize;
    for path in &files {
        let shown = path.display().to_string();
        let parsed = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|text| {
                comity_scenario::parse(&shown, &text)
                    .map(|f| (text, f.scenario.id))
                    .map_err(|e| e.to_string())
            });
        let (text, reference) = match parsed {
            Ok(x) => x,
            Err(message) => {
                refused += 1;
                report_import(
                    h,
                    "refused",
                    &shown,
                    None,
                    None,
                    Some(("bad_input", &message)),
                );
                continue;
            }
        };
        let input = NewCase {
            scenario: text,
            counterpart: to.to_owned(),
            reference: Some(reference.clone()),
            ..NewCase::default()
        };
        let doc = match h.node.new_case(officer, input).await {
            Ok(doc) => doc,
            Err(e) if e.is_bad_input() => {
                refused += 1;
                report_import(
                    h,
                    "refused",
                    &shown,
                    Some(&reference),
                    None,
                    Some((e.code(), &e.to_string())),
                );
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let status = match doc.state {
            State::Checked => {
                let sent = h.node.send(officer, &doc.id).await?;
                report_import(h, "sent", &shown, Some(&reference), Some(&sent), None);
                continue;
            }
            State::Draft => "draft",
            _ => "already",
        };
        report_import(h, status, &shown, Some(&reference), Some(&doc), None);
    }
    if refused > 0 {
        return Err(Failure::bad_input(format!(
            "{refused} of {} scenario files refused",
            files.len()
        )));
    }
    Ok(())
}

fn report_import(
    h: &NodeHandle,
    status: &str,
    file: &str,
    reference: Option<&str>,
    doc: Option<&CaseDoc>,
    error: Option<(&str, &str)>,
) {
    if h.json {
        print_json_line(&json!({
            "status": status,
            "file": file,
            "reference": reference,
            "case": doc.map(|d| d.id.as_str()),
            "state": doc.map(|d| d.state.as_str()),
            "error": error.map(|(code, message)| json!({"code": code, "message": message})),
        }));
        return;
    }
    let line = match (doc, error) {
        (Some(d), _) => format!(
            "{status:<8} {}  {}  {}",
            d.id,
            reference.unwrap_or("-"),
            d.state.as_str()
        ),
        (None, Some((code, message))) => format!("{status:<8} {file}  {code}: {message}"),
        (None, None) => format!("{status:<8} {file}"),
    };
    out(&format!("{line}\n"));
}

/// The result of a command that changed a case.
fn changed(h: &NodeHandle, verb: &str, doc: &CaseDoc, engine: bool) -> Result<(), Failure> {
    if h.json {
        print_json(&to_json(doc)?);
        return Ok(());
    }
    let mut text = format!("{verb} case {}: {}\n", doc.id, doc.state.as_str());
    if engine {
        text.push_str(&engine_lines(doc));
    }
    if let Some(d) = doc.decision.as_ref().filter(|_| verb == "decided") {
        text.push_str(&format!("  {}\n", decision_line(d)));
    }
    out(&text);
    Ok(())
}

fn one_line(c: &CaseDoc) -> String {
    let arrow = match c.side {
        Side::Requesting => "to",
        Side::Requested => "from",
    };
    if c.production_order.is_some() {
        return format!(
            "{}  {:<19} production order{} {arrow} {}  domestic law (not decided by the engine)",
            c.id,
            c.state.as_str(),
            if c.emergency { " emergency" } else { "" },
            c.counterpart,
        );
    }
    if let Some(i) = &c.information {
        return format!(
            "{}  {:<19} spontaneous information ({}) {arrow} {}  {}",
            c.id,
            c.state.as_str(),
            i.cites.join(", "),
            c.counterpart,
            i.status.as_str(),
        );
    }
    format!(
        "{}  {:<19} {} {}{} {arrow} {}  engine: {}",
        c.id,
        c.state.as_str(),
        c.kind,
        c.basis,
        if c.emergency { " emergency" } else { "" },
        c.counterpart,
        c.proposal.outcome,
    )
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn engine_lines(doc: &CaseDoc) -> String {
    let p = &doc.proposal;
    if let Some(note) = &p.note {
        return format!("  {note}\n");
    }
    let mut text = format!("  engine: {}", p.outcome);
    if p.review_required {
        text.push_str(" (a person must review)");
    }
    text.push('\n');
    if !p.missing.is_empty() {
        text.push_str(&format!(
            "  missing: {}\n",
            missing_line(&p.missing_contents)
        ));
    }
    for g in &p.grounds {
        text.push_str(&format!(
            "  ground {}: {} ({})\n",
            g.ground,
            g.status,
            g.cites.join(", ")
        ));
    }
    if !p.duties.is_empty() {
        text.push_str(&format!("  duties: {}\n", join(&p.duties)));
    }
    text
}

fn missing_line(list: &[comity_node::MissingContent]) -> String {
    list.iter()
        .map(|m| {
            if m.cites.is_empty() {
                m.content.to_string()
            } else {
                format!("{} ({})", m.content, m.cites.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn decision_line(d: &comity_node::DecisionRecord) -> String {
    let mut s = format!("{} by {} at {}", d.disposition.as_str(), d.by, d.at);
    if !d.grounds.is_empty() {
        s.push_str(&format!("; grounds: {}", join(&d.grounds)));
    }
    if !d.reasons.is_empty() {
        s.push_str(&format!("; reasons: {}", d.reasons));
    }
    if !d.conditions.is_empty() {
        s.push_str(&format!("; conditions: {}", d.conditions.join("; ")));
    }
    if let Some(p) = &d.prosecution {
        s.push_str(&format!(
            "; submitted for prosecution to {} ({})",
            p.authority, p.reference
        ));
    }
    if let Some(o) = &d.override_reason {
        s.push_str(&format!("; override: {o}"));
    }
    s
}

fn render_view(v: &CaseView) -> String {
    let c = &v.case;
    let mut t = format!("case {}  (version {})\n", c.id, v.version);
    let side = match c.side {
        Side::Requesting => format!("requesting, to {}", c.counterpart),
        Side::Requested => format!("requested, from {}", c.counterpart),
    };
    t.push_str(&format!("  state: {}\n  side: {side}\n", c.state.as_str()));
    t.push_str(&format!(
        "  request: {} under {}{}\n",
        c.kind,
        c.basis,
        if c.emergency { ", emergency" } else { "" }
    ));
    if let Some(h) = c.respond_within_hours {
        t.push_str(&format!(
            "  respond within {h} h: {}\n",
            c.deadline_reason.as_deref().unwrap_or("")
        ));
    }
    t.push_str(&engine_lines(c));
    if let Some(o) = &c.production_order {
        t.push_str(&format!(
            "  production order: {} of {} from {} to {}, due {}{}\n  legal basis: {} ({})\n",
            join(&o.data),
            o.subject,
            o.period_from,
            o.period_to,
            o.due,
            if o.confidential {
                "; confidential: the provider must not disclose it"
            } else {
                ""
            },
            o.legal_basis,
            o.treaty_powers.join(", ")
        ));
        if let Some(i) = &o.instructions {
            t.push_str(&format!("  instructions: {i}\n"));
        }
    }
    if let Some(p) = &c.parent {
        t.push_str(&format!("  carries out case {p}\n"));
    }
    for child in &c.children {
        t.push_str(&format!("  production order {child}\n"));
    }
    if let Some(r) = &c.send_override_reason {
        t.push_str(&format!("  sent despite the engine, because: {r}\n"));
    }
    for (what, list) in [
        ("question", &c.clarifications),
        ("answer", &c.answers),
        ("consultation", &c.consultations),
    ] {
        for x in list {
            t.push_str(&format!("  {what} by {} at {}: {}\n", x.by, x.at, x.text));
            if !x.missing.is_empty() {
                t.push_str(&format!("    missing: {}\n", missing_line(&x.missing)));
            }
        }
    }
    if let Some(d) = &c.decision {
        t.push_str(&format!("  decision: {}\n", decision_line(d)));
    }
    if let Some(p) = &c.preservation {
        t.push_str(&format!(
            "  preserved until {} ({} extensions)\n",
            p.until, p.extensions
        ));
        for n in &p.notices {
            t.push_str(&format!("  notice by {} at {}: {}\n", n.by, n.at, n.text));
        }
    }
    for (what, d) in c
        .received
        .iter()
        .map(|d| ("received", d))
        .chain(c.deliveries.iter().map(|d| ("delivery", d)))
    {
        let mut conditions = Vec::new();
        if d.conditions.use_limitation {
            conditions.push("use limitation".to_owned());
        }
        if d.conditions.confidential {
            conditions.push("confidential".to_owned());
        }
        if let Some(r) = d.conditions.retention_days {
            conditions.push(format!("delete after {r} days"));
        }
        conditions.extend(d.conditions.other.iter().cloned());
        t.push_str(&format!(
            "  {what} at {}: {} items{}\n",
            d.at,
            d.items.len(),
            if conditions.is_empty() {
                String::new()
            } else {
                format!(" ({})", conditions.join("; "))
            }
        ));
        for i in &d.items {
            t.push_str(&format!(
                "    item {}  {}  {} bytes  sha256 {}\n",
                i.id, i.name, i.size, i.sha256
            ));
            for x in &i.custody {
                t.push_str(&format!(
                    "      custody: {} by {}: {}\n",
                    x.at, x.by, x.action
                ));
            }
        }
    }
    if let Some(f) = &c.emergency_flag {
        match &f.confirmation {
            Some(k) => t.push_str(&format!(
                "  emergency flagged at {}, confirmed by {} at {}: {}\n",
                f.at, k.by, k.at, k.note
            )),
            None => t.push_str(&format!(
                "  EMERGENCY FLAGGED at {}: nothing is delivered until a second officer confirms it (comity case confirm-emergency)\n",
                f.at
            )),
        }
        for r in &f.reasons {
            t.push_str(&format!("    {}: {}\n", r.code, r.detail));
        }
    }
    t.push_str(&crate::cmd_transfer::view_lines(c));
    if let Some(r) = &c.closed_reason {
        t.push_str(&format!("  closed: {r}\n"));
    }
    if !v.deadlines.is_empty() {
        t.push_str("deadlines\n");
        for d in &v.deadlines {
            t.push_str(&format!("  {}\n", deadline_line(d)));
        }
    }
    t.push_str("events\n");
    for e in &v.events {
        t.push_str(&format!(
            "  {:>3}  {}  {:<24} {}\n",
            e.seq, e.at, e.kind, e.actor
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]
    use super::*;

    #[test]
    fn facts_read_by_the_scenario_rules() {
        let f = facts_from_text(
            "f.toml",
            "essential_interests = true\nprotected_roles = [\"journalist\"]\n",
        )
        .unwrap();
        assert!(f.essential_interests && !f.political_offence);
        let f = facts_from_text(
            "f.toml",
            "# header form\n[request.facts]\nown_national = true\n",
        )
        .unwrap();
        assert!(f.own_national);
        let e = facts_from_text(
            "f.toml",
            "essential_interests = true\nessential_interest = true\n",
        )
        .unwrap_err();
        assert!(e.starts_with("f.toml:2:"), "{e}");
        assert!(e.contains("essential_interest"), "{e}");
        let e = facts_from_text("f.toml", "protected_roles = [\"journalists\"]\n").unwrap_err();
        assert!(e.starts_with("f.toml:1:"), "{e}");
        assert!(facts_from_text("f.toml", "[other]\nx = 1\n").is_err());
    }
}
