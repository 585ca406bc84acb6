//! `comity jit …`: joint investigation teams (UNCC 48; SAP2 12, which the treaty digest marks
//! unverified). A team is created by one authority, whose agreement goes to the other members
//! as sealed envelopes (`comity outbox` / `comity serve` carry them); each member joins or
//! declines; members that joined post messages and items to each other while the team is
//! active; the creating authority closes it, or `comity jit tick` (and `comity cases --due`)
//! ends it once its last day has passed.
//!
//! Errors exit as the case commands do: 2 with the node's code (`unknown_team`, `jit_closed`,
//! `jit_inactive`, `not_team_creator`, `illegal_transition`, `bad_input`), 1 for storage and
//! internal errors.

use std::path::PathBuf;
use std::process::ExitCode;

use comity_node::{
    MemberStatus, NewTeam, OnwardUse, TeamDoc, TeamListed, TeamView, UseConditions, team_basis_cite,
};
use comity_types::Instrument;
use serde_json::json;

use crate::cmd_node::{Failure, NodeArgs, NodeHandle, print_json, run_async, to_json};
use crate::cmd_support::out;

#[derive(clap::Subcommand, Debug)]
pub enum JitCommand {
    /// Create a team: the agreement is sent to each other member, signed and sealed.
    Create {
        #[command(flatten)]
        node: NodeArgs,
        /// Another member authority (repeatable); this node is a member itself.
        #[arg(long = "member", value_name = "AUTHORITY", required = true)]
        members: Vec<String>,
        /// What the team is set up to investigate.
        #[arg(long, value_name = "TEXT")]
        purpose: String,
        /// The first day (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        start: String,
        /// The last day (YYYY-MM-DD, inclusive).
        #[arg(long, value_name = "DATE")]
        end: String,
        /// UNCC (Article 48) or SAP2 (Article 12, unverified).
        #[arg(long, value_name = "INSTRUMENT", default_value = "UNCC")]
        basis: String,
        /// Shared material is used only for the purpose of the agreement.
        #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
        purpose_only: bool,
        /// Use for another purpose needs the consent of the member that shared it.
        #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
        consent_for_other_use: bool,
        /// Passing material on outside the team: forbidden, with_consent or permitted.
        #[arg(long, value_name = "RULE", default_value = "with_consent")]
        onward: String,
        /// A further condition of use (repeatable).
        #[arg(long = "condition", value_name = "TEXT")]
        conditions: Vec<String>,
    },
    /// List the teams this node is or was a member of, newest first.
    List {
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Show a team: the agreement, members, thread, items and history (audited).
    Show {
        #[command(flatten)]
        node: NodeArgs,
        team: String,
    },
    /// Join a team: accept the agreement as received (its SHA-256 is recorded).
    Join {
        #[command(flatten)]
        node: NodeArgs,
        team: String,
    },
    /// Decline a team's agreement, with reasons.
    Decline {
        #[command(flatten)]
        node: NodeArgs,
        team: String,
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// Post a message, with items, to every other member that joined.
    Post {
        #[command(flatten)]
        node: NodeArgs,
        team: String,
        #[arg(long, value_name = "TEXT")]
        text: String,
        /// A file to share (repeatable); its name is the file's name.
        #[arg(long = "item", value_name = "FILE")]
        items: Vec<PathBuf>,
    },
    /// Open an item shared in the team into a file (audited and logged).
    Item {
        #[command(flatten)]
        node: NodeArgs,
        team: String,
        /// The item id (as `jit show` lists it).
        item: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// End a team (its creating authority only); the other members are told.
    Close {
        #[command(flatten)]
        node: NodeArgs,
        team: String,
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// End every team whose last day has passed (also done by `comity cases --due` and by
    /// `comity serve`'s deadline task).
    Tick {
        #[command(flatten)]
        node: NodeArgs,
    },
}

pub fn run(cmd: JitCommand) -> ExitCode {
    let json = match &cmd {
        JitCommand::Create { node, .. }
        | JitCommand::List { node }
        | JitCommand::Show { node, .. }
        | JitCommand::Join { node, .. }
        | JitCommand::Decline { node, .. }
        | JitCommand::Post { node, .. }
        | JitCommand::Item { node, .. }
        | JitCommand::Close { node, .. }
        | JitCommand::Tick { node } => node.json,
    };
    run_async(json, dispatch(cmd))
}

async fn dispatch(cmd: JitCommand) -> Result<(), Failure> {
    match cmd {
        JitCommand::Create {
            node,
            members,
            purpose,
            start,
            end,
            basis,
            purpose_only,
            consent_for_other_use,
            onward,
            conditions,
        } => {
            let basis = Instrument::from_code(&basis).ok_or_else(|| {
                Failure::bad_input(format!("--basis `{basis}`: expected UNCC or SAP2"))
            })?;
            let onward = OnwardUse::parse(&onward).ok_or_else(|| {
                Failure::bad_input(format!(
                    "--onward `{onward}`: expected forbidden, with_consent or permitted"
                ))
            })?;
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .create_team(
                    h.officer()?,
                    NewTeam {
                        members,
                        purpose,
                        start,
                        end,
                        basis,
                        conditions: UseConditions {
                            purpose_only,
                            consent_for_other_use,
                            onward,
                            other: conditions,
                        },
                    },
                )
                .await?;
            changed(&h, "created", &doc)
        }
        JitCommand::List { node } => {
            let h = NodeHandle::open(&node).await?;
            let teams = h.node.teams().await?;
            if h.json {
                print_json(&to_json(&teams)?);
                return Ok(());
            }
            if teams.is_empty() {
                out("no teams\n");
            }
            for t in &teams {
                out(&format!("{}\n", one_line(t)));
            }
            Ok(())
        }
        JitCommand::Show { node, team } => {
            let h = NodeHandle::open(&node).await?;
            let view = h.node.show_team(h.officer()?, &team).await?;
            if h.json {
                print_json(&to_json(&view)?);
            } else {
                out(&render(&view));
            }
            Ok(())
        }
        JitCommand::Join { node, team } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h.node.join_team(h.officer()?, &team).await?;
            changed(&h, "joined", &doc)
        }
        JitCommand::Decline { node, team, reason } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h.node.decline_team(h.officer()?, &team, &reason).await?;
            changed(&h, "declined", &doc)
        }
        JitCommand::Post {
            node,
            team,
            text,
            items,
        } => {
            let mut files = Vec::with_capacity(items.len());
            for path in &items {
                let bytes = std::fs::read(path)
                    .map_err(|e| Failure::bad_input(format!("--item `{}`: {e}", path.display())))?;
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .ok_or_else(|| {
                        Failure::bad_input(format!("--item `{}`: not a file", path.display()))
                    })?;
                files.push((name, bytes));
            }
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .post_to_team(h.officer()?, &team, &text, files)
                .await?;
            changed(&h, "posted to", &doc)
        }
        JitCommand::Item {
            node,
            team,
            item,
            out: path,
        } => {
            let h = NodeHandle::open(&node).await?;
            let (name, bytes) = h.node.open_team_item(h.officer()?, &team, &item).await?;
            crate::cmd_transport::write_durably(&path, &bytes)?;
            let sha = comity_crypto::Sha256Digest::of(&bytes).to_string();
            if h.json {
                print_json(&json!({
                    "team": team, "item": item, "name": name, "file": path,
                    "size": bytes.len(), "sha256": sha,
                }));
            } else {
                out(&format!(
                    "wrote {} ({name}, {} bytes, sha256 {sha})\n",
                    path.display(),
                    bytes.len()
                ));
            }
            Ok(())
        }
        JitCommand::Close { node, team, reason } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h.node.close_team(h.officer()?, &team, &reason).await?;
            changed(&h, "closed", &doc)
        }
        JitCommand::Tick { node } => {
            let h = NodeHandle::open(&node).await?;
            let ended = h.node.end_teams().await?;
            if h.json {
                print_json(&json!({"ended": ended}));
            } else if ended.is_empty() {
                out("no team ended\n");
            } else {
                for id in &ended {
                    out(&format!("ended team {id}: its last day has passed\n"));
                }
            }
            Ok(())
        }
    }
}

fn changed(h: &NodeHandle, verb: &str, doc: &TeamDoc) -> Result<(), Failure> {
    if h.json {
        print_json(&to_json(doc)?);
        return Ok(());
    }
    out(&format!(
        "{verb} team {}: {}\n  agreement sha256 {}\n",
        doc.id,
        doc.state.as_str(),
        doc.agreement_sha256
    ));
    Ok(())
}

fn basis_text(basis: Instrument) -> String {
    let (cite, verified) = team_basis_cite(basis);
    if verified {
        cite.to_owned()
    } else {
        format!("{cite} (unverified)")
    }
}

fn one_line(t: &TeamListed) -> String {
    let a = &t.team.agreement;
    format!(
        "{}  {:<8} {}{}  {} to {}  {} members  {}",
        t.team.id,
        t.team.state.as_str(),
        basis_text(a.basis),
        if t.active { "  active" } else { "" },
        a.start,
        a.end,
        a.members.len(),
        a.purpose
    )
}

fn render(v: &TeamView) -> String {
    let t = &v.team;
    let a = &t.agreement;
    let c = &a.conditions;
    let mut s = format!(
        "team {}  {}{}\n  basis      {}\n  purpose    {}\n  duration   {} to {}\n  created by {} at {}\n  agreement  sha256 {}\n",
        t.id,
        t.state.as_str(),
        if v.active { " (active)" } else { "" },
        basis_text(a.basis),
        a.purpose,
        a.start,
        a.end,
        a.creator,
        a.created_at,
        t.agreement_sha256,
    );
    s.push_str(&format!(
        "  conditions use only for the purpose: {}; other use needs consent: {}; onward use: {}\n",
        yes(c.purpose_only),
        yes(c.consent_for_other_use),
        c.onward.as_str()
    ));
    for o in &c.other {
        s.push_str(&format!("             {o}\n"));
    }
    s.push_str("members:\n");
    for m in &t.members {
        let status = match m.status {
            MemberStatus::Invited => "invited",
            MemberStatus::Joined => "joined",
            MemberStatus::Declined => "declined",
        };
        s.push_str(&format!(
            "  {:<28} {}  {:<8}{}{}\n",
            m.authority,
            m.party,
            status,
            m.at.as_deref().map(|a| format!(" {a}")).unwrap_or_default(),
            m.reason
                .as_deref()
                .map(|r| format!("  ({r})"))
                .unwrap_or_default()
        ));
    }
    if let Some(closed) = &t.closed {
        s.push_str(&format!(
            "ended {} by {}: {}\n",
            closed.at, closed.by, closed.reason
        ));
    }
    s.push_str("thread:\n");
    if t.posts.is_empty() {
        s.push_str("  (no posts)\n");
    }
    for p in &t.posts {
        s.push_str(&format!("  {}  {}: {}\n", p.at, p.by, p.text));
        for i in &p.items {
            s.push_str(&format!(
                "      item {}  {}  {} bytes  sha256 {}\n",
                i.id, i.name, i.size, i.sha256
            ));
        }
    }
    s.push_str("items:\n");
    if v.items.is_empty() {
        s.push_str("  (none)\n");
    }
    for i in &v.items {
        s.push_str(&format!("  {}  {}  sha256 {}\n", i.id, i.name, i.sha256));
        for e in &i.custody {
            s.push_str(&format!("      {}  {}  {}\n", e.at, e.by, e.action));
        }
    }
    s.push_str("history:\n");
    for e in &v.events {
        s.push_str(&format!(
            "  {:>3}  {}  {:<20} {}\n",
            e.seq, e.at, e.kind, e.actor
        ));
    }
    s
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
