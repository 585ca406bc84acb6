//! `comity case notification …`: the data subject's notification and its restriction
//! (`comity_node::Notification`). The requesting officer restricts it (who may not be told,
//! until when, why; the provision is the treaty's), re-justifies or lifts the restriction;
//! either side records when and how the subject was told; `show` prints the record, the
//! provision and the deadlines. `comity cases --due` runs the reminders (and lets a restriction
//! that reached its end lapse).

use comity_node::{
    CaseDoc, NotificationMeans, NotificationView, NotifiedInput, RejustifyInput, RestrictInput,
};

use crate::cmd_node::{Failure, NodeArgs, NodeHandle, print_json, to_json};
use crate::cmd_support::out;

#[derive(clap::Subcommand, Debug)]
pub enum NotificationCommand {
    /// The notification record of a case: the restriction, when notification became due and
    /// when and how it was given, the provision a restriction rests on, the deadlines
    /// (recorded in the audit trail).
    Show {
        #[command(flatten)]
        node: NodeArgs,
        /// The case id.
        case: String,
    },
    /// Record that the person concerned may not be told until a day (requesting side; UNCC
    /// 42(3)(g) for preservation, UNCC 40(20) or BUD 27(8) for mutual assistance without an MLA
    /// treaty). The other side is told.
    Restrict {
        #[command(flatten)]
        node: NodeArgs,
        /// The case id.
        case: String,
        /// Who may not be told, by reference to what the request holds (e.g. "the holder of
        /// the account named in the request"); no new personal data.
        #[arg(long, value_name = "TEXT")]
        subject: String,
        /// The restriction's last day (YYYY-MM-DD), after today, at most 366 days ahead.
        #[arg(long, value_name = "DATE")]
        until: String,
        /// Why the person may not be told yet.
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// Justify a restriction in force again, with a new reason and a new last day.
    Rejustify {
        #[command(flatten)]
        node: NodeArgs,
        /// The case id.
        case: String,
        #[arg(long, value_name = "DATE")]
        until: String,
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// Lift a restriction in force: notification becomes due on both sides.
    Lift {
        #[command(flatten)]
        node: NodeArgs,
        /// The case id.
        case: String,
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// Record that the person concerned was told (either side).
    Notified {
        #[command(flatten)]
        node: NodeArgs,
        /// The case id.
        case: String,
        /// The day they were told (YYYY-MM-DD; default today), not in the future.
        #[arg(long, value_name = "DATE")]
        on: Option<String>,
        /// How: letter, email, in_person, telephone, counsel or other.
        #[arg(long, value_name = "MEANS")]
        means: String,
        /// A note; required with `--means other`.
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
}

/// Whether the command prints JSON.
pub fn json(cmd: &NotificationCommand) -> bool {
    match cmd {
        NotificationCommand::Show { node, .. }
        | NotificationCommand::Restrict { node, .. }
        | NotificationCommand::Rejustify { node, .. }
        | NotificationCommand::Lift { node, .. }
        | NotificationCommand::Notified { node, .. } => node.json,
    }
}

pub async fn dispatch(cmd: NotificationCommand) -> Result<(), Failure> {
    match cmd {
        NotificationCommand::Show { node, case } => {
            let h = NodeHandle::open(&node).await?;
            let view = h.node.notification(h.officer()?, &case).await?;
            if h.json {
                print_json(&to_json(&view)?);
            } else {
                out(&render(&view));
            }
            Ok(())
        }
        NotificationCommand::Restrict {
            node,
            case,
            subject,
            until,
            reason,
        } => {
            let h = NodeHandle::open(&node).await?;
            let input = RestrictInput {
                subject,
                until,
                reason,
            };
            let doc = h
                .node
                .restrict_notification(h.officer()?, &case, &input)
                .await?;
            changed(&h, "restricted the notification of", &doc)
        }
        NotificationCommand::Rejustify {
            node,
            case,
            until,
            reason,
        } => {
            let h = NodeHandle::open(&node).await?;
            let input = RejustifyInput { until, reason };
            let doc = h
                .node
                .rejustify_restriction(h.officer()?, &case, &input)
                .await?;
            changed(&h, "re-justified the restriction of", &doc)
        }
        NotificationCommand::Lift { node, case, reason } => {
            let h = NodeHandle::open(&node).await?;
            let doc = h
                .node
                .lift_restriction(h.officer()?, &case, &reason)
                .await?;
            changed(&h, "lifted the restriction of", &doc)
        }
        NotificationCommand::Notified {
            node,
            case,
            on,
            means,
            note,
        } => {
            let means = NotificationMeans::parse(&means).ok_or_else(|| {
                Failure::bad_input(format!(
                    "--means: `{means}` is not one of {}",
                    NotificationMeans::ALL
                        .map(NotificationMeans::as_str)
                        .join(", ")
                ))
            })?;
            let h = NodeHandle::open(&node).await?;
            let input = NotifiedInput { on, means, note };
            let doc = h.node.record_notified(h.officer()?, &case, &input).await?;
            changed(&h, "recorded the notification of", &doc)
        }
    }
}

fn changed(h: &NodeHandle, verb: &str, doc: &CaseDoc) -> Result<(), Failure> {
    if h.json {
        print_json(&to_json(doc)?);
        return Ok(());
    }
    let n = doc.notification.clone().unwrap_or_default();
    out(&format!("{verb} case {}: {}\n", doc.id, standing(&n)));
    Ok(())
}

/// Where a notification record stands, in one line.
fn standing(n: &comity_node::Notification) -> String {
    if let Some(g) = &n.given {
        return format!(
            "subject notified on {} ({}) by the {} side",
            g.on,
            g.means.as_str(),
            g.side.as_str()
        );
    }
    let mut line = match &n.restriction {
        Some(r) => format!(
            "restriction {} (until {}, {}, re-justified {} times)",
            r.status.as_str(),
            r.until,
            r.provision,
            r.rejustified
        ),
        None => "no restriction".to_owned(),
    };
    if let Some(d) = &n.due {
        line.push_str(&format!(
            "; notification due since {} ({})",
            d.since,
            d.reason.as_str()
        ));
    }
    line
}

fn render(v: &NotificationView) -> String {
    let n = &v.notification;
    let mut s = format!(
        "case {} ({} side, {} under {})\n",
        v.case,
        v.side.as_str(),
        v.kind,
        v.basis
    );
    match (&v.provision, &v.no_basis) {
        (Some(p), _) => s.push_str(&format!("  a restriction rests on {p}\n")),
        (None, Some(why)) => s.push_str(&format!("  no restriction can be asked: {why}\n")),
        (None, None) => {}
    }
    s.push_str(&format!("  {}\n", standing(n)));
    if let Some(r) = &n.restriction {
        s.push_str(&format!(
            "  who may not be told: {}\n  why: {}\n  asked by {} of {} at {}\n",
            r.subject, r.reason, r.by, r.authority, r.at
        ));
    }
    for step in &n.history {
        s.push_str(&format!(
            "  {}  {:<11} by {}{}{}\n",
            step.at,
            step.action,
            step.by,
            step.until
                .as_deref()
                .map(|u| format!(", until {u}"))
                .unwrap_or_default(),
            step.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ));
    }
    if let Some(g) = &n.given {
        s.push_str(&format!(
            "  told on {} by {} ({}), recorded by {} of {}{}\n",
            g.on,
            g.means.as_str(),
            g.side.as_str(),
            g.by,
            g.authority,
            g.note
                .as_deref()
                .map(|t| format!(": {t}"))
                .unwrap_or_default()
        ));
    }
    for d in &v.deadlines {
        s.push_str(&format!(
            "  deadline {:<18} {:<9} {}\n",
            d.name, d.state, d.due_at
        ));
    }
    s
}
