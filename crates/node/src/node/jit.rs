//! Joint investigation teams (UNCC 48; SAP2 12, which the treaty digest marks unverified): an
//! agreement between two or more authorities of the directory, and a shared case space in
//! which the members that joined exchange messages and evidence items while it lasts.
//!
//! - **The agreement** ([`Agreement`]): its members, purpose, duration (first and last day),
//!   the conditions of use of shared material and the legal basis. One authority creates it
//!   ([`Node::create_team`]) and sends it to each other member in a signed, sealed
//!   `jit.agreement` envelope, with the team's salt for the transparency log. Each member joins
//!   ([`Node::join_team`]: it accepts the agreement as sent, and the SHA-256 of the agreement's
//!   canonical JSON is recorded on every node) or declines ([`Node::decline_team`]); both go to
//!   every other member.
//! - **The shared case space**: a member that joined posts messages with or without evidence
//!   items ([`Node::post_to_team`]); a post goes to every other member that joined. Items are
//!   sealed at rest on every node, each under a key of its own, like delivered items, with
//!   their SHA-256 and chain of custody, and carry the agreement's conditions.
//!   [`Node::open_team_item`] opens one for an officer.
//! - **Active**: a team is active for a member once it has joined and the first day has come,
//!   until the last day ends or the team is closed.
//! - **The end**: the creating authority closes the team ([`Node::close_team`]), or the last
//!   day passes ([`Node::tick`] ends it on each node, and the creating node tells the others).
//!   Then nothing more is posted, accepted or opened; hashes, custody and history stay.
//!
//! A team is stored as a case row of its own (`side` = `team`, `kind` = `jit`, states
//! `jit_invited`, `jit_joined`, `jit_declined`, `jit_closed`), so that its history, items,
//! messages and audit entries use the case's tables; the treaty use cases never see it (the
//! case loader answers `unknown_case` for a team). Every action and every team message
//! accepted is one change with its event and its `team_*` leaf (docs/log-format.md).

use base64::Engine as _;
use comity_crypto::Sha256Digest;
use comity_protocol::{AuthorityId, Role};
use comity_store::{CaseFilter, CaseRow, CaseWrite, Change, ItemRow, Store, StoreError};
use comity_transparency::{Event, Leaf, TeamRef, case_commitment};
use comity_types::{Instrument, PartyCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{EventView, Node, Writer, ms_to_text, parse_date, parse_salt, salt_hex, text_required};
use crate::case::{CustodyEntry, DataConditions, ItemRef};
use crate::env::{Clock, Entropy};
use crate::error::NodeError;
use crate::messages::{ResultItem, ResultsMsg};

/// The `side` of a team's row in the cases table.
pub const TEAM_SIDE: &str = "team";
/// The `kind` of a team's row in the cases table.
pub const TEAM_KIND: &str = "jit";

/// Envelope kinds of joint investigation teams.
pub mod team_kinds {
    /// The agreement, from the creating authority to each other member.
    pub const AGREEMENT: &str = "jit.agreement";
    /// A member accepts the agreement as sent (to every other member).
    pub const JOIN: &str = "jit.join";
    /// A member declines the agreement (to every other member).
    pub const DECLINE: &str = "jit.decline";
    /// A message, with or without items, to every other member that joined.
    pub const POST: &str = "jit.post";
    /// The creating authority ends the team (to every member that did not decline).
    pub const CLOSE: &str = "jit.close";
}

/// Whether shared material may be passed on outside the team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnwardUse {
    /// Never passed on to an authority outside the team.
    Forbidden,
    /// Passed on only with the prior consent of the member that shared it.
    WithConsent,
    /// Passed on under the other conditions.
    Permitted,
}

impl OnwardUse {
    pub fn as_str(self) -> &'static str {
        match self {
            OnwardUse::Forbidden => "forbidden",
            OnwardUse::WithConsent => "with_consent",
            OnwardUse::Permitted => "permitted",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            OnwardUse::Forbidden,
            OnwardUse::WithConsent,
            OnwardUse::Permitted,
        ]
        .into_iter()
        .find(|o| o.as_str() == text)
    }
}

/// The conditions under which members may use what is shared in the team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UseConditions {
    /// Shared material may be used only for the purpose of the agreement.
    pub purpose_only: bool,
    /// Use for any other purpose needs the prior consent of the member that shared it.
    pub consent_for_other_use: bool,
    /// Passing material on outside the team.
    pub onward: OnwardUse,
    /// Further conditions, in the members' words.
    #[serde(default)]
    pub other: Vec<String>,
}

/// The agreement setting up a joint investigation team, as the creating authority sent it.
/// Its SHA-256 is that of its canonical JSON (RFC 8785).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    /// The team's id, drawn by the creating authority; every member knows the team by it.
    pub team: String,
    /// The creating authority.
    pub creator: String,
    /// Every member authority, the creator included, sorted.
    pub members: Vec<String>,
    pub purpose: String,
    /// The first day of the team (`YYYY-MM-DD`).
    pub start: String,
    /// The last day of the team (`YYYY-MM-DD`, inclusive).
    pub end: String,
    /// `UNCC` (Article 48) or `SAP2` (Article 12, unverified).
    pub basis: Instrument,
    pub conditions: UseConditions,
    pub created_at: String,
}

impl Agreement {
    /// SHA-256 of the agreement's canonical JSON, 64 lower-case hex digits.
    pub fn sha256(&self) -> Result<String, NodeError> {
        let value = serde_json::to_value(self).map_err(|e| NodeError::Internal(e.to_string()))?;
        let bytes = comity_protocol::jcs::canonicalize(&value)
            .map_err(|e| NodeError::Internal(e.to_string()))?;
        Ok(Sha256Digest::of(&bytes).to_string())
    }
}

/// The treaty provision a team is set up under, and whether the digest verifies it.
pub fn team_basis_cite(basis: Instrument) -> (&'static str, bool) {
    match basis {
        Instrument::Sap2 => ("SAP2 12", false),
        _ => ("UNCC 48", true),
    }
}

/// Where a member stands towards the agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    Invited,
    Joined,
    Declined,
}

/// One member authority of a team, as this node knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub authority: String,
    /// Its Party, from the directory.
    pub party: String,
    pub status: MemberStatus,
    /// When it joined or declined.
    #[serde(default)]
    pub at: Option<String>,
    /// The SHA-256 of the agreement it accepted.
    #[serde(default)]
    pub agreement_sha256: Option<String>,
    /// Why it declined.
    #[serde(default)]
    pub reason: Option<String>,
}

/// This node's standing in a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamState {
    /// Received the agreement; neither joined nor declined.
    Invited,
    Joined,
    Declined,
    /// Ended: closed by the creating authority or past its last day.
    Closed,
}

impl TeamState {
    pub fn as_str(self) -> &'static str {
        match self {
            TeamState::Invited => "invited",
            TeamState::Joined => "joined",
            TeamState::Declined => "declined",
            TeamState::Closed => "closed",
        }
    }

    /// The state column of the team's row: prefixed, so that no filter on case states ever
    /// finds a team.
    fn row_state(self) -> String {
        format!("jit_{}", self.as_str())
    }
}

/// A message in the team's shared case space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Post {
    pub id: String,
    pub at: String,
    /// The member authority that posted it.
    pub by: String,
    /// The officer who wrote it (only on the posting node).
    #[serde(default)]
    pub officer: Option<String>,
    pub text: String,
    /// The items it carried, as stored on this node.
    #[serde(default)]
    pub items: Vec<ItemRef>,
}

/// How a team ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Closing {
    pub at: String,
    /// The authority that closed it, or `node` when its last day passed.
    pub by: String,
    pub reason: String,
}

/// A team as this node keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamDoc {
    pub id: String,
    pub agreement: Agreement,
    pub agreement_sha256: String,
    /// The team's salt for the transparency log (64 hex digits), drawn by the creating node.
    pub salt: String,
    pub state: TeamState,
    pub members: Vec<Member>,
    pub posts: Vec<Post>,
    #[serde(default)]
    pub closed: Option<Closing>,
}

impl TeamDoc {
    fn member(&self, authority: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.authority == authority)
    }

    fn member_mut(&mut self, authority: &str) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.authority == authority)
    }

    /// Whether the team is active for this node on `today`: joined, not ended, first day come.
    pub fn active_on(&self, today: jiff::civil::Date) -> bool {
        let (Ok(start), Ok(end)) = (
            self.agreement.start.parse::<jiff::civil::Date>(),
            self.agreement.end.parse::<jiff::civil::Date>(),
        ) else {
            return false;
        };
        self.state == TeamState::Joined && start <= today && today <= end
    }
}

/// A new team, as the creating officer writes it.
#[derive(Debug, Clone)]
pub struct NewTeam {
    /// The other member authorities (the creating node is a member itself).
    pub members: Vec<String>,
    pub purpose: String,
    /// First and last day (`YYYY-MM-DD`, inclusive).
    pub start: String,
    pub end: String,
    /// `UNCC` (Article 48) or `SAP2` (Article 12, unverified).
    pub basis: Instrument,
    pub conditions: UseConditions,
}

/// A team in a list: the document and whether it is active for this node today.
#[derive(Debug, Clone, Serialize)]
pub struct TeamListed {
    pub team: TeamDoc,
    pub active: bool,
}

/// An item shared in a team, as this node holds it.
#[derive(Debug, Clone, Serialize)]
pub struct TeamItem {
    pub id: String,
    pub name: String,
    pub sha256: String,
    /// The post that carried it.
    pub post: Option<String>,
    /// Whether its bytes are still held (they are, unless deleted).
    pub held: bool,
    pub conditions: Value,
    pub custody: Vec<CustodyEntry>,
}

/// A team with its history and items, for officers.
#[derive(Debug, Clone, Serialize)]
pub struct TeamView {
    pub team: TeamDoc,
    pub version: i64,
    pub active: bool,
    /// The provision of the basis, e.g. `UNCC 48`, and whether the digest verifies it.
    pub cite: String,
    pub verified: bool,
    pub events: Vec<EventView>,
    pub items: Vec<TeamItem>,
}

/// `jit.agreement`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementMsg {
    pub team: String,
    /// The team's salt for the transparency log (64 lower-case hex digits).
    pub salt: String,
    pub agreement: Agreement,
}

/// `jit.join` and `jit.decline`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerTeamMsg {
    pub team: String,
    /// The SHA-256 of the agreement the member answers.
    pub agreement_sha256: String,
    #[serde(default)]
    pub reason: Option<String>,
}

/// `jit.post`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostMsg {
    pub team: String,
    pub post: String,
    pub text: String,
    pub items: Vec<ResultItem>,
}

/// `jit.close`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseTeamMsg {
    pub team: String,
    pub reason: String,
}

const MAX_MEMBERS: usize = 32;

fn team_row(doc: &TeamDoc, version: i64, created_at: i64, now: i64) -> Result<CaseRow, NodeError> {
    Ok(CaseRow {
        id: doc.id.clone(),
        version,
        side: TEAM_SIDE.to_owned(),
        kind: TEAM_KIND.to_owned(),
        basis: doc.agreement.basis.to_string(),
        state: doc.state.row_state(),
        counterpart: doc.agreement.creator.clone(),
        emergency: false,
        created_at,
        updated_at: now,
        doc: serde_json::to_value(doc).map_err(|e| NodeError::Internal(e.to_string()))?,
    })
}

fn closed_error(doc: &TeamDoc) -> NodeError {
    let how = doc.closed.as_ref().map_or_else(String::new, |c| {
        format!(" on {} by {} ({})", c.at, c.by, c.reason)
    });
    NodeError::TeamClosed(format!(
        "team `{}` has ended{how}: nothing more is posted, delivered or opened",
        doc.id
    ))
}

/// The data conditions items of the team carry, from the agreement.
fn item_conditions(a: &Agreement) -> DataConditions {
    let (cite, verified) = team_basis_cite(a.basis);
    let mut other = vec![format!(
        "shared in joint investigation team {} ({cite}{}) for: {}",
        a.team,
        if verified { "" } else { ", unverified" },
        a.purpose
    )];
    if a.conditions.consent_for_other_use {
        other.push(
            "use for any other purpose needs the consent of the member that shared it".into(),
        );
    }
    other.push(format!("onward use: {}", a.conditions.onward.as_str()));
    other.extend(a.conditions.other.iter().cloned());
    DataConditions {
        use_limitation: a.conditions.purpose_only,
        confidential: true,
        retention_days: None,
        other,
    }
}

impl<S: Store, C: Clock, E: Entropy> Node<S, C, E> {
    fn team_leaf(&self, doc: &TeamDoc, event: Event, by: &str) -> Result<Leaf, NodeError> {
        let salt = parse_salt(&doc.salt)
            .ok_or_else(|| NodeError::Internal(format!("team `{}`: a malformed salt", doc.id)))?;
        let mut parties: Vec<PartyCode> = doc
            .members
            .iter()
            .filter_map(|m| PartyCode::parse(&m.party))
            .collect();
        parties.sort();
        parties.dedup();
        let by = doc
            .member(by)
            .and_then(|m| PartyCode::parse(&m.party))
            .ok_or_else(|| {
                NodeError::Internal(format!("team `{}`: `{by}` is no member", doc.id))
            })?;
        let team = TeamRef {
            team: case_commitment(&salt, &doc.id),
            basis: doc.agreement.basis,
            parties,
        };
        Ok(Leaf::of_team(event, self.log_day(), &team, by))
    }

    async fn load_team(&self, id: &str) -> Result<(CaseRow, TeamDoc), NodeError> {
        let row = self
            .store
            .case(id)
            .await?
            .filter(|r| r.side == TEAM_SIDE)
            .ok_or_else(|| NodeError::UnknownTeam(id.to_owned()))?;
        let doc: TeamDoc = serde_json::from_value(row.doc.clone())
            .map_err(|e| NodeError::Internal(format!("team `{id}` does not read back: {e}")))?;
        Ok((row, doc))
    }

    /// Writes the team's row (compare-and-swap on its version) and one event into `w`.
    async fn team_update(
        &self,
        w: &mut Writer,
        row: &CaseRow,
        doc: &TeamDoc,
        event: &str,
        actor: &str,
        data: Value,
    ) -> Result<(), NodeError> {
        let seq = self.next_seq(&doc.id).await?;
        w.event(&doc.id, seq, event, actor, data);
        w.change.cases.push(CaseWrite::Update {
            row: team_row(doc, row.version + 1, row.created_at, w.now)?,
            expected_version: row.version,
        });
        Ok(())
    }

    /// Sealed messages of `kind` to each of `to`.
    fn team_messages<T: Serialize>(
        &self,
        w: &mut Writer,
        doc: &TeamDoc,
        to: &[String],
        kind: &str,
        payload: &T,
    ) -> Result<(), NodeError> {
        for member in to {
            let msg = self.message(member, kind, payload, &doc.id, None, false)?;
            w.change.outbox.push(msg);
        }
        Ok(())
    }

    /// The other members whose status is one of `statuses`.
    fn others(&self, doc: &TeamDoc, statuses: &[MemberStatus]) -> Vec<String> {
        let me = self.cfg.id.to_string();
        doc.members
            .iter()
            .filter(|m| m.authority != me && statuses.contains(&m.status))
            .map(|m| m.authority.clone())
            .collect()
    }

    /// Checks an agreement's members against the directory: at least one other authority,
    /// each listed and a cooperation authority (not a service provider or oversight body), of
    /// at least two Parties; returns the members with their Parties, sorted.
    fn check_members(
        &self,
        creator: &str,
        members: &[String],
    ) -> Result<Vec<(String, String)>, NodeError> {
        let mut out: Vec<(String, String)> = Vec::new();
        for m in members {
            let id: AuthorityId = m.parse().map_err(|e: comity_protocol::ProtocolError| {
                NodeError::BadInput(format!("`members`: {e}"))
            })?;
            let Some(entry) = self.cfg.directory.authority(&id) else {
                return Err(NodeError::BadInput(format!(
                    "`members`: `{m}` is not in the directory"
                )));
            };
            if matches!(entry.role, Role::ServiceProvider | Role::Oversight) {
                return Err(NodeError::BadInput(format!(
                    "`members`: `{m}` is a {} and cannot be a member of a joint investigation team",
                    serde_json::to_value(entry.role)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                )));
            }
            if out.iter().any(|(a, _)| a == m) {
                return Err(NodeError::BadInput(format!(
                    "`members`: `{m}` is listed twice"
                )));
            }
            out.push((m.clone(), entry.party.as_str().to_owned()));
        }
        if !out.iter().any(|(a, _)| a == creator) {
            return Err(NodeError::BadInput(format!(
                "`members`: the creating authority `{creator}` is not a member"
            )));
        }
        if out.len() < 2 {
            return Err(NodeError::BadInput(
                "`members`: a team needs at least one other authority".into(),
            ));
        }
        if out.len() > MAX_MEMBERS {
            return Err(NodeError::BadInput(format!(
                "`members`: at most {MAX_MEMBERS} authorities"
            )));
        }
        let mut parties: Vec<&str> = out.iter().map(|(_, p)| p.as_str()).collect();
        parties.sort_unstable();
        parties.dedup();
        if parties.len() < 2 {
            return Err(NodeError::BadInput(
                "`members`: a joint investigation team is between authorities of two or more Parties (UNCC 48)".into(),
            ));
        }
        out.sort();
        Ok(out)
    }

    fn check_agreement_terms(
        purpose: &str,
        start: &str,
        end: &str,
        basis: Instrument,
        conditions: &UseConditions,
    ) -> Result<(jiff::civil::Date, jiff::civil::Date), NodeError> {
        text_required("purpose", purpose)?;
        if purpose.len() > 4096 {
            return Err(NodeError::BadInput(
                "`purpose` is longer than 4096 bytes".into(),
            ));
        }
        let s = parse_date("start", start)?;
        let e = parse_date("end", end)?;
        if e < s {
            return Err(NodeError::BadInput(format!(
                "`end` ({end}) is before `start` ({start})"
            )));
        }
        if !matches!(basis, Instrument::Uncc | Instrument::Sap2) {
            return Err(NodeError::BadInput(format!(
                "`basis`: `{basis}` provides no joint investigation teams (UNCC 48, or SAP2 12, unverified)"
            )));
        }
        if conditions.other.len() > 32 {
            return Err(NodeError::BadInput(
                "`conditions.other`: at most 32 conditions".into(),
            ));
        }
        for c in &conditions.other {
            text_required("conditions.other", c)?;
            if c.len() > 1024 {
                return Err(NodeError::BadInput(
                    "`conditions.other`: each at most 1024 bytes".into(),
                ));
            }
        }
        Ok((s, e))
    }

    /// Creates a team: the agreement, with this node as its creator and first member, sent to
    /// each other member as a sealed `jit.agreement` envelope.
    pub async fn create_team(&self, officer: &str, input: NewTeam) -> Result<TeamDoc, NodeError> {
        let me = self.cfg.id.to_string();
        let (_, end) = Self::check_agreement_terms(
            &input.purpose,
            &input.start,
            &input.end,
            input.basis,
            &input.conditions,
        )?;
        if end < self.today() {
            return Err(NodeError::BadInput(format!(
                "`end`: {} has passed",
                input.end
            )));
        }
        if input.members.contains(&me) {
            return Err(NodeError::BadInput(
                "`members`: list the other authorities; this node is a member already".into(),
            ));
        }
        let mut all = input.members.clone();
        all.push(me.clone());
        let members = self.check_members(&me, &all)?;
        let id = self.new_id()?;
        let agreement = Agreement {
            team: id.clone(),
            creator: me.clone(),
            members: members.iter().map(|(a, _)| a.clone()).collect(),
            purpose: input.purpose.trim().to_owned(),
            start: input.start.clone(),
            end: input.end.clone(),
            basis: input.basis,
            conditions: input.conditions.clone(),
            created_at: self.now().to_string(),
        };
        let sha = agreement.sha256()?;
        let now_text = self.now().to_string();
        let doc = TeamDoc {
            id: id.clone(),
            agreement: agreement.clone(),
            agreement_sha256: sha.clone(),
            salt: salt_hex(&self.random()),
            state: TeamState::Joined,
            members: members
                .iter()
                .map(|(a, p)| Member {
                    authority: a.clone(),
                    party: p.clone(),
                    status: if *a == me {
                        MemberStatus::Joined
                    } else {
                        MemberStatus::Invited
                    },
                    at: (*a == me).then(|| now_text.clone()),
                    agreement_sha256: (*a == me).then(|| sha.clone()),
                    reason: None,
                })
                .collect(),
            posts: Vec::new(),
            closed: None,
        };
        let now = self.now_ms();
        let mut w = Writer::new(now);
        w.change
            .cases
            .push(CaseWrite::Insert(team_row(&doc, 1, now, now)?));
        w.event(
            &id,
            1,
            "team_created",
            officer,
            json!({"agreement_sha256": sha, "members": agreement.members}),
        );
        let msg = AgreementMsg {
            team: id.clone(),
            salt: doc.salt.clone(),
            agreement,
        };
        let invited = self.others(&doc, &[MemberStatus::Invited]);
        self.team_messages(&mut w, &doc, &invited, team_kinds::AGREEMENT, &msg)?;
        w.audit(
            officer,
            "jit_create",
            Some(&id),
            json!({"members": doc.agreement.members, "basis": doc.agreement.basis, "agreement_sha256": sha}),
        );
        w.leaf(Some(self.team_leaf(&doc, Event::TeamCreated, &me)?))?;
        self.store.apply(&w.change).await?;
        Ok(doc)
    }

    /// Joins a team this node was invited to: accepts the agreement as received (its SHA-256 is
    /// recorded here and sent to every other member).
    pub async fn join_team(&self, officer: &str, team: &str) -> Result<TeamDoc, NodeError> {
        self.answer_team(officer, team, None).await
    }

    /// Declines a team this node was invited to, with reasons, told to every other member.
    pub async fn decline_team(
        &self,
        officer: &str,
        team: &str,
        reason: &str,
    ) -> Result<TeamDoc, NodeError> {
        text_required("reason", reason)?;
        self.answer_team(officer, team, Some(reason)).await
    }

    async fn answer_team(
        &self,
        officer: &str,
        team: &str,
        decline: Option<&str>,
    ) -> Result<TeamDoc, NodeError> {
        let (row, mut doc) = self.load_team(team).await?;
        let action = if decline.is_some() { "decline" } else { "join" };
        match doc.state {
            TeamState::Invited => {}
            TeamState::Closed => return Err(closed_error(&doc)),
            other => {
                return Err(NodeError::IllegalTransition {
                    case: doc.id.clone(),
                    state: format!("jit_{}", other.as_str()),
                    action: if decline.is_some() {
                        "decline the team"
                    } else {
                        "join the team"
                    },
                    allowed: "jit_invited".into(),
                });
            }
        }
        let end = parse_date("end", &doc.agreement.end)?;
        if decline.is_none() && end < self.today() {
            return Err(closed_error(&doc));
        }
        let me = self.cfg.id.to_string();
        let sha = doc.agreement_sha256.clone();
        let at = self.now().to_string();
        let status = if decline.is_some() {
            MemberStatus::Declined
        } else {
            MemberStatus::Joined
        };
        let member = doc
            .member_mut(&me)
            .ok_or_else(|| NodeError::Internal(format!("team `{team}`: this node is no member")))?;
        member.status = status;
        member.at = Some(at);
        member.agreement_sha256 = Some(sha.clone());
        member.reason = decline.map(str::to_owned);
        doc.state = if decline.is_some() {
            TeamState::Declined
        } else {
            TeamState::Joined
        };
        let mut w = Writer::new(self.now_ms());
        let to = self.others(&doc, &[MemberStatus::Invited, MemberStatus::Joined]);
        let msg = AnswerTeamMsg {
            team: doc.id.clone(),
            agreement_sha256: sha.clone(),
            reason: decline.map(str::to_owned),
        };
        let (kind, event, leaf) = if decline.is_some() {
            (team_kinds::DECLINE, "declined", Event::TeamDeclined)
        } else {
            (team_kinds::JOIN, "joined", Event::TeamJoined)
        };
        self.team_messages(&mut w, &doc, &to, kind, &msg)?;
        self.team_update(
            &mut w,
            &row,
            &doc,
            event,
            officer,
            json!({"agreement_sha256": sha, "reason": decline}),
        )
        .await?;
        w.audit(
            officer,
            &format!("jit_{action}"),
            Some(team),
            json!({"agreement_sha256": sha}),
        );
        w.leaf(Some(self.team_leaf(&doc, leaf, &me)?))?;
        self.store.apply(&w.change).await?;
        Ok(doc)
    }

    /// Posts a message, with items (name, bytes), to every other member that joined. The team
    /// must be active for this node.
    pub async fn post_to_team(
        &self,
        officer: &str,
        team: &str,
        text: &str,
        items: Vec<(String, Vec<u8>)>,
    ) -> Result<TeamDoc, NodeError> {
        text_required("text", text)?;
        let (row, mut doc) = self.load_team(team).await?;
        self.require_active(&doc)?;
        let to = self.others(&doc, &[MemberStatus::Joined]);
        if to.is_empty() {
            return Err(NodeError::TeamInactive(format!(
                "team `{team}`: no other member has joined yet; a post would reach nobody"
            )));
        }
        let mut names = std::collections::BTreeSet::new();
        let mut wire = Vec::new();
        for (name, bytes) in &items {
            text_required("items.name", name)?;
            if name.len() > 255 || name.contains(['/', '\\']) || name.chars().any(char::is_control)
            {
                return Err(NodeError::BadInput(format!(
                    "`items.name`: `{name}` must be a file name of at most 255 bytes"
                )));
            }
            if !names.insert(name.clone()) {
                return Err(NodeError::BadInput(format!(
                    "`items.name`: `{name}` appears twice"
                )));
            }
            wire.push(ResultItem {
                name: name.clone(),
                sha256: Sha256Digest::of(bytes).to_string(),
                data: base64::engine::general_purpose::STANDARD.encode(bytes),
                custody: Vec::new(),
            });
        }
        let me = self.cfg.id.to_string();
        let post_id = self.new_id()?;
        let at = self.now().to_string();
        let custody = vec![CustodyEntry {
            at: at.clone(),
            by: me.clone(),
            action: format!("shared by {officer} in joint investigation team {team}"),
        }];
        for item in &mut wire {
            item.custody.clone_from(&custody);
        }
        let msg = PostMsg {
            team: doc.id.clone(),
            post: post_id.clone(),
            text: text.to_owned(),
            items: wire,
        };
        let mut w = Writer::new(self.now_ms());
        let refs = self.keep_team_items(&mut w, &doc, &msg, "posted; sealed at rest")?;
        doc.posts.push(Post {
            id: post_id.clone(),
            at,
            by: me.clone(),
            officer: Some(officer.to_owned()),
            text: text.to_owned(),
            items: refs.clone(),
        });
        self.team_messages(&mut w, &doc, &to, team_kinds::POST, &msg)?;
        let shas: Vec<&str> = refs.iter().map(|r| r.sha256.as_str()).collect();
        self.team_update(
            &mut w,
            &row,
            &doc,
            "posted",
            officer,
            json!({"post": post_id, "to": to, "items": shas}),
        )
        .await?;
        w.audit(
            officer,
            "jit_post",
            Some(team),
            json!({"post": post_id, "items": shas}),
        );
        w.leaf(Some(self.team_leaf(&doc, Event::TeamPosted, &me)?))?;
        self.store.apply(&w.change).await?;
        Ok(doc)
    }

    /// Seals the items of a post at rest under the team and returns their references.
    fn keep_team_items(
        &self,
        w: &mut Writer,
        doc: &TeamDoc,
        msg: &PostMsg,
        receipt: &str,
    ) -> Result<Vec<ItemRef>, NodeError> {
        let results = ResultsMsg {
            case: doc.id.clone(),
            items: msg.items.clone(),
            conditions: item_conditions(&doc.agreement),
            custody: Vec::new(),
        };
        let mut refs = Vec::new();
        for (mut item, r) in self.take_items(&results, &doc.id, receipt)? {
            if let Value::Object(map) = &mut item.data {
                map.insert("post".into(), json!(msg.post));
            }
            w.change.items.push(item);
            refs.push(r);
        }
        Ok(refs)
    }

    fn require_active(&self, doc: &TeamDoc) -> Result<(), NodeError> {
        if doc.state == TeamState::Closed {
            return Err(closed_error(doc));
        }
        if doc.state != TeamState::Joined {
            return Err(NodeError::IllegalTransition {
                case: doc.id.clone(),
                state: doc.state.row_state(),
                action: "act in the team",
                allowed: "jit_joined".into(),
            });
        }
        let today = self.today();
        let end = parse_date("end", &doc.agreement.end)?;
        if end < today {
            return Err(closed_error(doc));
        }
        if !doc.active_on(today) {
            return Err(NodeError::TeamInactive(format!(
                "team `{}` starts on {}",
                doc.id, doc.agreement.start
            )));
        }
        Ok(())
    }

    /// Opens an item shared in the team, for an officer of a member that joined, while the
    /// team has not ended; the opening is audited and logged.
    pub async fn open_team_item(
        &self,
        officer: &str,
        team: &str,
        item: &str,
    ) -> Result<(String, Vec<u8>), NodeError> {
        let (row, doc) = self.load_team(team).await?;
        if doc.state == TeamState::Closed {
            return Err(closed_error(&doc));
        }
        if doc.state != TeamState::Joined {
            return Err(NodeError::IllegalTransition {
                case: doc.id.clone(),
                state: doc.state.row_state(),
                action: "open a team item",
                allowed: "jit_joined".into(),
            });
        }
        let found = self
            .store
            .items(team)
            .await?
            .into_iter()
            .find(|i| i.id == item)
            .ok_or_else(|| NodeError::NotFound(format!("no item `{item}` in team `{team}`")))?;
        let bytes = super::open_sealed(&found)?;
        if Sha256Digest::of(&bytes).as_bytes() != found.sha256.as_slice() {
            return Err(NodeError::Internal(format!(
                "item `{item}` does not match its recorded hash"
            )));
        }
        let name = found
            .data
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(item)
            .to_owned();
        let me = self.cfg.id.to_string();
        let mut w = Writer::new(self.now_ms());
        self.team_update(
            &mut w,
            &row,
            &doc,
            "item_opened",
            officer,
            json!({"item": item}),
        )
        .await?;
        w.audit(officer, "jit_open_item", Some(team), json!({"item": item}));
        w.leaf(Some(self.team_leaf(&doc, Event::TeamItemOpened, &me)?))?;
        self.store.apply(&w.change).await?;
        Ok((name, bytes))
    }

    /// Closes a team (its creating authority only): nothing more is posted, accepted or
    /// opened on any node; every member that did not decline is told.
    pub async fn close_team(
        &self,
        officer: &str,
        team: &str,
        reason: &str,
    ) -> Result<TeamDoc, NodeError> {
        text_required("reason", reason)?;
        let (row, mut doc) = self.load_team(team).await?;
        let me = self.cfg.id.to_string();
        if doc.agreement.creator != me {
            return Err(NodeError::NotTeamCreator(format!(
                "team `{team}` is closed by its creating authority `{}`; this node may not close it",
                doc.agreement.creator
            )));
        }
        if doc.state == TeamState::Closed {
            return Err(closed_error(&doc));
        }
        let mut w = Writer::new(self.now_ms());
        self.end_team(&mut w, &row, &mut doc, officer, &me, reason)
            .await?;
        w.audit(officer, "jit_close", Some(team), json!({"reason": reason}));
        self.store.apply(&w.change).await?;
        Ok(doc)
    }

    /// Ends the team in `w`: its state, the event, the leaf, and on the creating node the
    /// `jit.close` messages.
    async fn end_team(
        &self,
        w: &mut Writer,
        row: &CaseRow,
        doc: &mut TeamDoc,
        actor: &str,
        by: &str,
        reason: &str,
    ) -> Result<(), NodeError> {
        let me = self.cfg.id.to_string();
        doc.state = TeamState::Closed;
        doc.closed = Some(Closing {
            at: self.now().to_string(),
            by: by.to_owned(),
            reason: reason.to_owned(),
        });
        if doc.agreement.creator == me {
            let to = self.others(doc, &[MemberStatus::Invited, MemberStatus::Joined]);
            let msg = CloseTeamMsg {
                team: doc.id.clone(),
                reason: reason.to_owned(),
            };
            self.team_messages(w, doc, &to, team_kinds::CLOSE, &msg)?;
        }
        self.team_update(w, row, doc, "closed", actor, json!({"reason": reason}))
            .await?;
        let leaf_by = if doc.member(by).is_some() {
            by.to_owned()
        } else {
            me
        };
        w.leaf(Some(self.team_leaf(doc, Event::TeamClosed, &leaf_by)?))?;
        Ok(())
    }

    /// Ends every team whose last day has passed (called by [`Node::tick`]); returns their ids.
    pub async fn end_teams(&self) -> Result<Vec<String>, NodeError> {
        let today = self.today();
        let mut ended = Vec::new();
        for row in self.teams_rows().await? {
            let doc: TeamDoc = serde_json::from_value(row.doc.clone())
                .map_err(|e| NodeError::Internal(format!("team `{}`: {e}", row.id)))?;
            if matches!(doc.state, TeamState::Closed | TeamState::Declined) {
                continue;
            }
            let Ok(end) = doc.agreement.end.parse::<jiff::civil::Date>() else {
                continue;
            };
            if end >= today {
                continue;
            }
            let mut doc = doc;
            let mut w = Writer::new(self.now_ms());
            let reason = format!(
                "the last day of the agreement, {}, has passed",
                doc.agreement.end
            );
            self.end_team(&mut w, &row, &mut doc, "node", "node", &reason)
                .await?;
            w.audit(
                "node",
                "jit_close",
                Some(&row.id),
                json!({"reason": reason}),
            );
            match self.store.apply(&w.change).await {
                Ok(()) => ended.push(row.id.clone()),
                // Changed meanwhile: the next tick looks again.
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(ended)
    }

    async fn teams_rows(&self) -> Result<Vec<CaseRow>, NodeError> {
        Ok(self
            .store
            .cases(&CaseFilter {
                side: Some(TEAM_SIDE.to_owned()),
                ..CaseFilter::default()
            })
            .await?)
    }

    /// The teams this node is or was a member of, newest first.
    pub async fn teams(&self) -> Result<Vec<TeamListed>, NodeError> {
        let today = self.today();
        let mut out = Vec::new();
        for row in self.teams_rows().await? {
            let team: TeamDoc = serde_json::from_value(row.doc)
                .map_err(|e| NodeError::Internal(format!("team `{}`: {e}", row.id)))?;
            let active = team.active_on(today);
            out.push(TeamListed { team, active });
        }
        Ok(out)
    }

    /// A team with its history and items; the view is recorded in the audit trail.
    pub async fn show_team(&self, officer: &str, team: &str) -> Result<TeamView, NodeError> {
        let (row, doc) = self.load_team(team).await?;
        let events = self.store.events(team).await?;
        let items = self.store.items(team).await?;
        let mut w = Writer::new(self.now_ms());
        w.audit(officer, "jit_view", Some(team), json!({}));
        self.store.apply(&w.change).await?;
        let (cite, verified) = team_basis_cite(doc.agreement.basis);
        Ok(TeamView {
            active: doc.active_on(self.today()),
            cite: cite.to_owned(),
            verified,
            version: row.version,
            events: events
                .into_iter()
                .map(|e| EventView {
                    seq: e.seq,
                    at: ms_to_text(e.at),
                    kind: e.kind,
                    actor: e.actor,
                    data: e.data,
                })
                .collect(),
            items: items.iter().map(team_item).collect(),
            team: doc,
        })
    }

    // ----- receiving ---------------------------------------------------------------------

    /// Applies a `jit.*` message from `from` (called by `receive`).
    pub(super) async fn apply_team_message(
        &self,
        from: &str,
        kind: &str,
        envelope: &str,
        payload: Value,
    ) -> Result<(Change, String), NodeError> {
        let mut w = Writer::new(self.now_ms());
        match kind {
            team_kinds::AGREEMENT => {
                let msg: AgreementMsg = Self::parse_msg(kind, payload)?;
                let doc = self.received_agreement(from, msg)?;
                if self.store.case(&doc.id).await?.is_some() {
                    return Err(NodeError::BadInput(format!(
                        "`{}` names a case or team this node holds already",
                        doc.id
                    )));
                }
                let now = w.now;
                w.change
                    .cases
                    .push(CaseWrite::Insert(team_row(&doc, 1, now, now)?));
                w.event(
                    &doc.id,
                    1,
                    "agreement_received",
                    from,
                    json!({"envelope": envelope, "agreement_sha256": doc.agreement_sha256}),
                );
                w.leaf(Some(self.team_leaf(&doc, Event::TeamCreated, from)?))?;
                Ok((w.change, doc.id))
            }
            team_kinds::JOIN | team_kinds::DECLINE => {
                let msg: AnswerTeamMsg = Self::parse_msg(kind, payload)?;
                let (row, mut doc) = self.member_team(from, &msg.team).await?;
                if doc.state == TeamState::Closed {
                    return Err(closed_error(&doc));
                }
                if msg.agreement_sha256 != doc.agreement_sha256 {
                    return Err(NodeError::BadInput(format!(
                        "`agreement_sha256`: `{from}` answered an agreement other than team `{}`'s ({})",
                        doc.id, doc.agreement_sha256
                    )));
                }
                let joining = kind == team_kinds::JOIN;
                if joining && msg.reason.is_some() {
                    return Err(NodeError::BadInput("a join carries no `reason`".into()));
                }
                let reason = if joining {
                    None
                } else {
                    let r = msg.reason.clone().unwrap_or_default();
                    text_required("reason", &r)?;
                    Some(r)
                };
                let at = self.now().to_string();
                let creator = doc.agreement.creator.clone();
                let member = doc.member_mut(from).ok_or_else(|| {
                    NodeError::Internal(format!("team `{}`: `{from}` vanished", msg.team))
                })?;
                if member.status != MemberStatus::Invited || member.authority == creator {
                    return Err(NodeError::BadInput(format!(
                        "`{from}` has answered team `{}` already",
                        msg.team
                    )));
                }
                member.status = if joining {
                    MemberStatus::Joined
                } else {
                    MemberStatus::Declined
                };
                member.at = Some(at);
                member.agreement_sha256 = Some(msg.agreement_sha256.clone());
                member.reason.clone_from(&reason);
                let (event, leaf) = if joining {
                    ("member_joined", Event::TeamJoined)
                } else {
                    ("member_declined", Event::TeamDeclined)
                };
                self.team_update(
                    &mut w,
                    &row,
                    &doc,
                    event,
                    from,
                    json!({"envelope": envelope, "member": from, "reason": reason}),
                )
                .await?;
                w.leaf(Some(self.team_leaf(&doc, leaf, from)?))?;
                Ok((w.change, doc.id))
            }
            team_kinds::POST => {
                let msg: PostMsg = Self::parse_msg(kind, payload)?;
                let (row, mut doc) = self.member_team(from, &msg.team).await?;
                if doc.state == TeamState::Closed {
                    return Err(closed_error(&doc));
                }
                if parse_date("end", &doc.agreement.end)? < self.today() {
                    return Err(closed_error(&doc));
                }
                if doc.state != TeamState::Joined {
                    return Err(NodeError::BadInput(format!(
                        "this node has not joined team `{}`; posts are not taken",
                        doc.id
                    )));
                }
                if doc.member(from).map(|m| m.status) != Some(MemberStatus::Joined) {
                    return Err(NodeError::BadInput(format!(
                        "`{from}` has not joined team `{}`; its posts are not taken",
                        doc.id
                    )));
                }
                text_required("text", &msg.text)?;
                let receipt = format!(
                    "received from {from} in joint investigation team {}; sealed at rest",
                    doc.id
                );
                let refs = self.keep_team_items(&mut w, &doc, &msg, &receipt)?;
                doc.posts.push(Post {
                    id: msg.post.clone(),
                    at: self.now().to_string(),
                    by: from.to_owned(),
                    officer: None,
                    text: msg.text.clone(),
                    items: refs.clone(),
                });
                let shas: Vec<&str> = refs.iter().map(|r| r.sha256.as_str()).collect();
                self.team_update(
                    &mut w,
                    &row,
                    &doc,
                    "post_received",
                    from,
                    json!({"envelope": envelope, "post": msg.post, "items": shas}),
                )
                .await?;
                w.leaf(Some(self.team_leaf(&doc, Event::TeamPosted, from)?))?;
                Ok((w.change, doc.id))
            }
            team_kinds::CLOSE => {
                let msg: CloseTeamMsg = Self::parse_msg(kind, payload)?;
                let (row, mut doc) = self.member_team(from, &msg.team).await?;
                if doc.agreement.creator != from {
                    return Err(NodeError::NotTeamCreator(format!(
                        "`{from}` did not create team `{}` and cannot close it",
                        doc.id
                    )));
                }
                text_required("reason", &msg.reason)?;
                if doc.state == TeamState::Closed {
                    // Ended here already (its last day passed): the notice is kept, nothing
                    // else changes.
                    self.team_update(
                        &mut w,
                        &row,
                        &doc,
                        "closing_notice",
                        from,
                        json!({"envelope": envelope, "reason": msg.reason}),
                    )
                    .await?;
                    return Ok((w.change, doc.id));
                }
                self.end_team(&mut w, &row, &mut doc, from, from, &msg.reason)
                    .await?;
                Ok((w.change, doc.id))
            }
            other => Err(NodeError::BadInput(format!(
                "unknown message kind `{other}`"
            ))),
        }
    }

    /// The team `team` as a message from `from` may touch it: `from` must be a member;
    /// another authority learns nothing of the team.
    async fn member_team(&self, from: &str, team: &str) -> Result<(CaseRow, TeamDoc), NodeError> {
        let (row, doc) = self.load_team(team).await?;
        if doc.member(from).is_none() {
            return Err(NodeError::UnknownTeam(team.to_owned()));
        }
        Ok((row, doc))
    }

    /// The team a received agreement sets up on this node, after checking it.
    fn received_agreement(&self, from: &str, msg: AgreementMsg) -> Result<TeamDoc, NodeError> {
        let a = &msg.agreement;
        if a.team != msg.team {
            return Err(NodeError::BadInput(
                "`team` differs from the agreement's".into(),
            ));
        }
        text_required("team", &a.team)?;
        if a.team.len() > 128 {
            return Err(NodeError::BadInput(
                "`team` is longer than 128 bytes".into(),
            ));
        }
        if a.creator != from {
            return Err(NodeError::BadInput(format!(
                "the agreement names `{}` as its creator, but `{from}` sent it",
                a.creator
            )));
        }
        if parse_salt(&msg.salt).is_none() {
            return Err(NodeError::BadInput(
                "`salt` must be 64 lower-case hex digits".into(),
            ));
        }
        Self::check_agreement_terms(&a.purpose, &a.start, &a.end, a.basis, &a.conditions)?;
        let me = self.cfg.id.to_string();
        if !a.members.contains(&me) {
            return Err(NodeError::BadInput(format!(
                "this node `{me}` is not a member of team `{}`",
                a.team
            )));
        }
        let members = self.check_members(from, &a.members)?;
        let sorted: Vec<&String> = members.iter().map(|(m, _)| m).collect();
        if a.members.iter().collect::<Vec<_>>() != sorted {
            return Err(NodeError::BadInput(
                "`members` must be sorted, each once".into(),
            ));
        }
        let sha = a.sha256()?;
        let created = a.created_at.clone();
        Ok(TeamDoc {
            id: a.team.clone(),
            agreement_sha256: sha.clone(),
            salt: msg.salt.clone(),
            state: TeamState::Invited,
            members: members
                .into_iter()
                .map(|(authority, party)| {
                    let creator = authority == from;
                    Member {
                        authority,
                        party,
                        status: if creator {
                            MemberStatus::Joined
                        } else {
                            MemberStatus::Invited
                        },
                        at: creator.then(|| created.clone()),
                        agreement_sha256: creator.then(|| sha.clone()),
                        reason: None,
                    }
                })
                .collect(),
            posts: Vec::new(),
            closed: None,
            agreement: msg.agreement,
        })
    }
}

fn team_item(row: &ItemRow) -> TeamItem {
    let custody = row
        .data
        .get("custody")
        .cloned()
        .and_then(|c| serde_json::from_value(c).ok())
        .unwrap_or_default();
    TeamItem {
        id: row.id.clone(),
        name: row
            .data
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        sha256: row
            .sha256
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
        post: row
            .data
            .get("post")
            .and_then(Value::as_str)
            .map(str::to_owned),
        held: row.sealed.is_some() && row.key.is_some(),
        conditions: row.data.get("conditions").cloned().unwrap_or(Value::Null),
        custody,
    }
}
