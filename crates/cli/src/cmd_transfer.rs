//! `comity case spontaneous …` (spontaneous information, UNCC 40(4)–(5), BUD 26) and
//! `comity case transfer …` (onward-transfer authorisations, UNCC 36(3); SAP2 14(10),
//! unverified): the officer's commands, each one use case of the node, with `comity case
//! show` listing what they recorded ([`view_lines`]).

use std::path::PathBuf;

use comity_node::{
    CaseDoc, ForwardInput, GrantInput, InformationConditions, InformationInput, TransferInput,
};
use comity_types::Instrument;

use crate::cmd_node::{Failure, NodeArgs, NodeHandle, print_json, to_json};
use crate::cmd_support::out;

#[derive(clap::Subcommand, Debug)]
pub enum SpontaneousCommand {
    /// Forward information to an authority of another Party without a request (UNCC 40(4),
    /// BUD 26). With conditions, the recipient must accept them before it can read it.
    Send {
        #[command(flatten)]
        node: NodeArgs,
        /// The receiving authority's id.
        #[arg(long, value_name = "AUTHORITY")]
        to: String,
        /// UNCC (40(4)) or BUD (26).
        #[arg(long, value_name = "INSTRUMENT", default_value = "UNCC")]
        basis: String,
        /// The information.
        #[arg(long, value_name = "TEXT")]
        text: String,
        /// A file forwarded with it (repeatable).
        #[arg(long = "item", value_name = "FILE")]
        items: Vec<PathBuf>,
        /// Condition: keep it confidential.
        #[arg(long)]
        confidential: bool,
        /// Condition: a restriction of its use.
        #[arg(long, value_name = "TEXT")]
        use_restriction: Option<String>,
        /// Another condition (repeatable).
        #[arg(long = "condition", value_name = "TEXT")]
        conditions: Vec<String>,
    },
    /// Accept the conditions (recipient): you are bound by them, and the information opens.
    Accept {
        #[command(flatten)]
        node: NodeArgs,
        case: String,
        #[arg(long, value_name = "TEXT", default_value = "")]
        text: String,
    },
    /// Say you cannot comply with the conditions (recipient, BUD 26): the information stays
    /// withheld until the sender decides.
    Decline {
        #[command(flatten)]
        node: NodeArgs,
        case: String,
        #[arg(long, value_name = "TEXT")]
        reasons: String,
    },
    /// Provide the information anyway after the recipient said it cannot comply (sender).
    Release {
        #[command(flatten)]
        node: NodeArgs,
        case: String,
        #[arg(long, value_name = "TEXT")]
        text: String,
    },
    /// Withdraw the information after the recipient said it cannot comply (sender): the
    /// recipient's sealed copy is destroyed.
    Withdraw {
        #[command(flatten)]
        node: NodeArgs,
        case: String,
        #[arg(long, value_name = "TEXT")]
        text: String,
    },
    /// Give the sender notice of a disclosure of exculpatory information (UNCC 40(5)).
    Disclose {
        #[command(flatten)]
        node: NodeArgs,
        case: String,
        #[arg(long, value_name = "TEXT")]
        text: String,
        /// The notice follows the disclosure (advance notice was not possible).
        #[arg(long)]
        after: bool,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum TransferCommand {
    /// Ask the original sender to authorise forwarding items received in a case to a third
    /// Party (UNCC 36(3)).
    Request {
        #[command(flatten)]
        node: NodeArgs,
        case: String,
        /// An item id of the case (repeatable, as `case show` lists them).
        #[arg(long = "item", value_name = "ID", required = true)]
        items: Vec<String>,
        /// The third Party's authority.
        #[arg(long, value_name = "AUTHORITY")]
        to: String,
        #[arg(long, value_name = "TEXT")]
        purpose: String,
    },
    /// Authorise a requested onward transfer (original sender).
    Grant {
        #[command(flatten)]
        node: NodeArgs,
        case: String,
        transfer: String,
        #[arg(long, value_name = "TEXT", default_value = "")]
        text: String,
        /// The reference of the authorisation in written form (UNCC 36(3)).
        #[arg(long, value_name = "REF")]
        written_reference: Option<String>,
        /// The last day it may be used (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
    },
    /// Refuse a requested onward transfer (original sender).
    Refuse {
        #[command(flatten)]
        node: NodeArgs,
        case: String,
        transfer: String,
        #[arg(long, value_name = "TEXT")]
        reasons: String,
    },
    /// Revoke an authorisation given (original sender).
    Revoke {
        #[command(flatten)]
        node: NodeArgs,
        case: String,
        transfer: String,
        #[arg(long, value_name = "TEXT")]
        reasons: String,
    },
    /// Forward items to a third Party under a matching authorisation; refused
    /// (`transfer_not_authorised`) without one.
    Forward {
        #[command(flatten)]
        node: NodeArgs,
        case: String,
        #[arg(long = "item", value_name = "ID", required = true)]
        items: Vec<String>,
        #[arg(long, value_name = "AUTHORITY")]
        to: String,
        /// The authorisation to use (default: any that matches).
        #[arg(long, value_name = "ID")]
        authorisation: Option<String>,
        /// A covering note (default: the purpose of the request).
        #[arg(long, value_name = "TEXT")]
        text: Option<String>,
    },
}

impl SpontaneousCommand {
    pub fn node(&self) -> &NodeArgs {
        match self {
            SpontaneousCommand::Send { node, .. }
            | SpontaneousCommand::Accept { node, .. }
            | SpontaneousCommand::Decline { node, .. }
            | SpontaneousCommand::Release { node, .. }
            | SpontaneousCommand::Withdraw { node, .. }
            | SpontaneousCommand::Disclose { node, .. } => node,
        }
    }
}

impl TransferCommand {
    pub fn node(&self) -> &NodeArgs {
        match self {
            TransferCommand::Request { node, .. }
            | TransferCommand::Grant { node, .. }
            | TransferCommand::Refuse { node, .. }
            | TransferCommand::Revoke { node, .. }
            | TransferCommand::Forward { node, .. } => node,
        }
    }
}

fn done(h: &NodeHandle, verb: &str, doc: &CaseDoc) -> Result<(), Failure> {
    if h.json {
        print_json(&to_json(doc)?);
        return Ok(());
    }
    let mut text = format!("{verb} case {}: {}", doc.id, doc.state.as_str());
    if let Some(i) = &doc.information {
        text.push_str(&format!(" (information {})", i.status.as_str()));
    }
    text.push('\n');
    if verb.contains("transfer")
        && let Some(t) = doc.transfers.last()
    {
        text.push_str(&format!(
            "  transfer {}: {} to {}\n",
            t.id,
            t.status.as_str(),
            t.to
        ));
    }
    out(&text);
    Ok(())
}

pub async fn spontaneous(cmd: SpontaneousCommand) -> Result<(), Failure> {
    match cmd {
        SpontaneousCommand::Send {
            node,
            to,
            basis,
            text,
            items,
            confidential,
            use_restriction,
            conditions,
        } => {
            let basis = Instrument::from_code(&basis).ok_or_else(|| {
                Failure::bad_input(format!(
                    "--basis: `{basis}` is not an instrument (UNCC, BUD)"
                ))
            })?;
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
            let doc = h
                .node
                .send_information(
                    h.officer()?,
                    InformationInput {
                        to,
                        basis,
                        text,
                        items: files,
                        conditions: InformationConditions {
                            confidential,
                            use_restriction,
                            other: conditions,
                        },
                    },
                )
                .await?;
            done(&h, "sent information in", &doc)
        }
        SpontaneousCommand::Accept { node, case, text } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .answer_conditions(h.officer()?, &case, true, &text)
                .await?;
            done(&h, "accepted the conditions of", &doc)
        }
        SpontaneousCommand::Decline {
            node,
            case,
            reasons,
        } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .answer_conditions(h.officer()?, &case, false, &reasons)
                .await?;
            done(&h, "declined the conditions of", &doc)
        }
        SpontaneousCommand::Release { node, case, text } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .decide_information(h.officer()?, &case, true, &text)
                .await?;
            done(&h, "released the information of", &doc)
        }
        SpontaneousCommand::Withdraw { node, case, text } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .decide_information(h.officer()?, &case, false, &text)
                .await?;
            done(&h, "withdrew the information of", &doc)
        }
        SpontaneousCommand::Disclose {
            node,
            case,
            text,
            after,
        } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .notify_disclosure(h.officer()?, &case, !after, &text)
                .await?;
            done(&h, "gave notice of a disclosure in", &doc)
        }
    }
}

pub async fn transfer(cmd: TransferCommand) -> Result<(), Failure> {
    match cmd {
        TransferCommand::Request {
            node,
            case,
            items,
            to,
            purpose,
        } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .request_transfer(h.officer()?, &case, TransferInput { items, to, purpose })
                .await?;
            done(&h, "asked for an onward transfer in", &doc)
        }
        TransferCommand::Grant {
            node,
            case,
            transfer,
            text,
            written_reference,
            until,
        } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .grant_transfer(
                    h.officer()?,
                    &case,
                    &transfer,
                    GrantInput {
                        text,
                        written_reference,
                        until,
                    },
                )
                .await?;
            done(&h, "authorised the onward transfer in", &doc)
        }
        TransferCommand::Refuse {
            node,
            case,
            transfer,
            reasons,
        } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .refuse_transfer(h.officer()?, &case, &transfer, &reasons)
                .await?;
            done(&h, "refused the onward transfer in", &doc)
        }
        TransferCommand::Revoke {
            node,
            case,
            transfer,
            reasons,
        } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .revoke_transfer(h.officer()?, &case, &transfer, &reasons)
                .await?;
            done(&h, "revoked the onward transfer in", &doc)
        }
        TransferCommand::Forward {
            node,
            case,
            items,
            to,
            authorisation,
            text,
        } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .forward(
                    h.officer()?,
                    &case,
                    ForwardInput {
                        authorisation,
                        items,
                        to,
                        text,
                    },
                )
                .await?;
            done(&h, "forwarded data in", &doc)
        }
    }
}

/// What `comity case show` adds for spontaneous information and transfer requests.
pub fn view_lines(c: &CaseDoc) -> String {
    let mut t = String::new();
    if let Some(i) = &c.information {
        t.push_str(&format!(
            "  spontaneous information ({}): {}\n",
            i.cites.join(", "),
            i.status.as_str()
        ));
        match &i.text {
            Some(x) => t.push_str(&format!("    text: {x}\n")),
            None => t.push_str("    text: withheld until the conditions are accepted\n"),
        }
        let k = &i.conditions;
        if k.confidential {
            t.push_str("    condition: confidential\n");
        }
        if let Some(u) = &k.use_restriction {
            t.push_str(&format!("    condition: use only {u}\n"));
        }
        for o in &k.other {
            t.push_str(&format!("    condition: {o}\n"));
        }
        if let Some(f) = &i.forwarded {
            t.push_str(&format!(
                "    forwarded from case {} of {} under authorisation {}{}\n",
                f.from_case,
                f.original_sender,
                f.authorisation,
                f.written_reference
                    .as_deref()
                    .map(|r| format!(" (written form: {r})"))
                    .unwrap_or_default()
            ));
        }
        for x in &i.items {
            t.push_str(&format!(
                "    item {}  {}  {} bytes  sha256 {}\n",
                x.id, x.name, x.size, x.sha256
            ));
        }
        if let Some(r) = &i.reply {
            t.push_str(&format!("    answer by {} at {}: {}\n", r.by, r.at, r.text));
        }
        if let Some(r) = &i.sender_decision {
            t.push_str(&format!(
                "    sender's decision by {} at {}: {}\n",
                r.by, r.at, r.text
            ));
        }
        for d in &i.disclosures {
            t.push_str(&format!(
                "    disclosure notice (UNCC 40(5)) by {} at {}: {}\n",
                d.by, d.at, d.text
            ));
        }
    }
    for x in &c.transfers {
        t.push_str(&format!(
            "  transfer {}: {} to {} ({}): {}\n",
            x.id,
            x.status.as_str(),
            x.to,
            if x.cites.is_empty() {
                "no provision in the digest; Comity asks anyway".to_owned()
            } else {
                x.cites.join(", ")
            },
            x.purpose
        ));
        for i in &x.items {
            t.push_str(&format!("    item {}  sha256 {}\n", i.name, i.sha256));
        }
        if let Some(a) = &x.answer {
            t.push_str(&format!(
                "    answered by {} at {}{}{}: {}\n",
                a.by,
                a.at,
                a.written_reference
                    .as_deref()
                    .map(|r| format!(", written form {r}"))
                    .unwrap_or_default(),
                a.until
                    .as_deref()
                    .map(|u| format!(", until {u}"))
                    .unwrap_or_default(),
                a.text
            ));
        }
        if let Some(r) = &x.revocation {
            t.push_str(&format!(
                "    revoked by {} at {}: {}\n",
                r.by, r.at, r.text
            ));
        }
        for f in &x.forwards {
            t.push_str(&format!(
                "    forwarded at {} by {} in case {}\n",
                f.at, f.by, f.case
            ));
        }
    }
    t
}
