//! Spontaneous information (UNCC 40(4)–(5), BUD 26): an authority forwards information (text,
//! and optionally items) to another Party's authority without a request, with the conditions
//! it sets (confidentiality, a restriction of use).
//!
//! It is not a treaty request: the engine does not decide it (its proposal area says so) and
//! every treaty use case refuses it. A case carrying it ([`Information`]) has its own states
//! ([`InformationStatus`]):
//!
//! - without conditions the information is `unconditional`: open on arrival;
//! - with conditions it is `offered`: the recipient's node seals the text and the items at rest
//!   and refuses to open them until the recipient answers. It accepts (`accepted`: bound by the
//!   conditions, UNCC 40(4), BUD 26) or says it cannot comply (`declined`, BUD 26: the sender
//!   is told); the sender then provides it anyway (`released`) or withdraws it (`withdrawn`:
//!   the recipient's sealed copy is destroyed, its hashes kept). That the sender "shall then
//!   determine whether the information should nevertheless be provided" is BUD 26(2)'s
//!   wording, which the digest does not record (it has "recipient unable to comply must
//!   notify; if accepted, bound"): UNVERIFIED (not checked against the text), as the code
//!   reads it;
//! - under the UNCC, a recipient bound by the conditions that discloses exculpatory information
//!   gives the sender notice (UNCC 40(5)): before the disclosure, or without delay after it
//!   when advance notice was not possible. The digest records no such exception in BUD 26.
//!
//! Each step is one change on each node (the case row by compare-and-swap, its event, the
//! message, the audit entry and its `comity.leaf/1` leaf; docs/log-format.md).

use base64::Engine as _;
use comity_crypto::Sha256Digest;
use comity_protocol::{AuthorityId, Role};
use comity_store::{CaseRow, CaseWrite, Change, Store};
use comity_transparency::{CaseRef, Event, Leaf, case_commitment};
use comity_types::{Instrument, Outcome, PartyCode, RequestKind};
use serde_json::{Value, json};

use super::{Node, Writer, ms_to_text, open_sealed, parse_salt, salt_hex, text_required, to_row};
use crate::case::*;
use crate::env::{Clock, Entropy};
use crate::error::NodeError;
use crate::messages::{self, kinds};

/// Spontaneous information, as the sending officer writes it.
#[derive(Debug, Clone)]
pub struct InformationInput {
    /// The receiving authority (of another Party).
    pub to: String,
    /// `UNCC` (40(4)) or `BUD` (26).
    pub basis: Instrument,
    pub text: String,
    /// Items forwarded with it (name, bytes).
    pub items: Vec<(String, Vec<u8>)>,
    pub conditions: InformationConditions,
}

/// The provisions spontaneous information is forwarded under.
pub fn information_cites(basis: Instrument) -> Option<Vec<String>> {
    match basis {
        Instrument::Uncc => Some(vec!["UNCC 40(4)".to_owned()]),
        Instrument::Bud => Some(vec!["BUD 26".to_owned()]),
        _ => None,
    }
}

/// The proposal area of an information case: the engine is not asked.
pub(super) fn not_a_request(cites: &[String]) -> Proposal {
    Proposal {
        outcome: Outcome::NotApplicable,
        missing: Vec::new(),
        missing_contents: Vec::new(),
        grounds: Vec::new(),
        duties: Vec::new(),
        deadlines: Vec::new(),
        review_required: false,
        cites: Vec::new(),
        note: Some(format!(
            "information forwarded without a request ({}): not a request, so the treaty engine \
             does not decide it; Comity records its conditions and the recipient's answer",
            cites.join(", ")
        )),
    }
}

/// Checks the conditions a sender writes: every text given is a real one.
pub(super) fn check_conditions(c: &InformationConditions) -> Result<(), NodeError> {
    if let Some(r) = &c.use_restriction {
        text_required("conditions.use_restriction", r)?;
    }
    for o in &c.other {
        text_required("conditions.other", o)?;
    }
    Ok(())
}

/// The case must be an information case on `side` whose information is in one of `allowed`.
pub(super) fn require_information<'a>(
    doc: &'a CaseDoc,
    side: Side,
    action: &'static str,
    allowed: &[InformationStatus],
) -> Result<&'a Information, NodeError> {
    let Some(info) = &doc.information else {
        return Err(NodeError::IllegalTransition {
            case: doc.id.clone(),
            state: doc.state.as_str().to_owned(),
            action,
            allowed: "spontaneous information only; this case is not".into(),
        });
    };
    if doc.side != side || !allowed.contains(&info.status) {
        let who = match side {
            Side::Requesting => "the sender's",
            Side::Requested => "the recipient's",
        };
        return Err(NodeError::IllegalTransition {
            case: doc.id.clone(),
            state: format!(
                "{} (information {})",
                doc.state.as_str(),
                info.status.as_str()
            ),
            action,
            allowed: format!(
                "information {} on {who} side",
                allowed
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    Ok(info)
}

fn info_mut(doc: &mut CaseDoc) -> Result<&mut Information, NodeError> {
    let id = doc.id.clone();
    doc.information
        .as_mut()
        .ok_or_else(|| NodeError::Internal(format!("case `{id}` is not an information case")))
}

impl<S: Store, C: Clock, E: Entropy> Node<S, C, E> {
    /// The Party of an authority of the directory.
    pub(super) fn party_of(&self, id: &str) -> Result<PartyCode, NodeError> {
        let a: AuthorityId = id
            .parse()
            .map_err(|e: comity_protocol::ProtocolError| NodeError::BadInput(e.to_string()))?;
        let entry = self
            .cfg
            .directory
            .authority(&a)
            .ok_or_else(|| NodeError::BadInput(format!("`{id}` is not in the directory")))?;
        PartyCode::parse(entry.party.as_str())
            .ok_or_else(|| NodeError::Internal(format!("`{id}`: party `{}`", entry.party.as_str())))
    }

    /// An authority this node may send information to: in the directory, not this node, not a
    /// service provider (information between authorities only). `field` names the input.
    pub(super) fn information_recipient(
        &self,
        field: &str,
        to: &str,
    ) -> Result<AuthorityId, NodeError> {
        let id: AuthorityId = to.parse().map_err(|e: comity_protocol::ProtocolError| {
            NodeError::BadInput(format!("`{field}`: {e}"))
        })?;
        if id == self.cfg.id {
            return Err(NodeError::BadInput(format!(
                "`{field}`: `{to}` is this node"
            )));
        }
        let entry = self.cfg.directory.authority(&id).ok_or_else(|| {
            NodeError::BadInput(format!("`{field}`: `{to}` is not in the directory"))
        })?;
        if entry.role == Role::ServiceProvider {
            return Err(NodeError::BadInput(format!(
                "`{field}`: `{to}` is a service provider, not an authority"
            )));
        }
        Ok(id)
    }

    /// The leaf of an event of an information case: `requesting` is the providing Party,
    /// `requested` the receiving one, the kind `mla` (UNCC 40 and BUD 26 are mutual
    /// assistance). `None` between authorities of one Party, and for a case without a salt.
    pub(super) fn information_leaf(
        &self,
        doc: &CaseDoc,
        event: Event,
    ) -> Result<Option<Leaf>, NodeError> {
        let Some(salt) = doc.salt.as_deref() else {
            return Ok(None);
        };
        let salt = parse_salt(salt)
            .ok_or_else(|| NodeError::Internal(format!("case `{}`: a malformed salt", doc.id)))?;
        let me = self.party_of(self.cfg.id.as_str())?;
        let them = self.party_of(&doc.counterpart)?;
        if me == them {
            return Ok(None);
        }
        let (requesting, requested) = match doc.side {
            Side::Requesting => (me, them),
            Side::Requested => (them, me),
        };
        let case = CaseRef {
            case: case_commitment(&salt, &doc.id),
            requesting,
            requested,
            kind: RequestKind::Mla,
            basis: doc.basis,
            emergency: false,
        };
        Ok(Some(Leaf::of_case(event, self.log_day(), &case)))
    }

    /// Forwards spontaneous information (UNCC 40(4), BUD 26) to an authority of another Party:
    /// a case of its own, sent at once as a signed, sealed envelope. Without conditions it is
    /// open on arrival; with conditions the recipient must answer them first.
    pub async fn send_information(
        &self,
        officer: &str,
        input: InformationInput,
    ) -> Result<CaseDoc, NodeError> {
        let cites = information_cites(input.basis).ok_or_else(|| {
            NodeError::BadInput(format!(
                "`basis`: spontaneous information is forwarded under UNCC (40(4)) or BUD (26), not {}",
                input.basis
            ))
        })?;
        let to = self.information_recipient("to", &input.to)?;
        if self.party_of(to.as_str())? == self.party_of(self.cfg.id.as_str())? {
            return Err(NodeError::BadInput(format!(
                "`to`: `{to}` is an authority of this node's own Party; spontaneous information goes to another Party"
            )));
        }
        text_required("text", &input.text)?;
        check_conditions(&input.conditions)?;
        let mut sent = Vec::new();
        for (name, bytes) in &input.items {
            text_required("item name", name)?;
            sent.push((name.clone(), bytes.clone(), Vec::new()));
        }
        let id = self.new_id()?;
        let salt = Some(salt_hex(&self.random()));
        self.send_information_case(
            officer,
            &id,
            &to,
            input.basis,
            cites,
            input.text.trim(),
            &sent,
            input.conditions,
            None,
            salt,
            Change::default(),
        )
        .await
    }

    /// Builds an information case to `to` and its envelope, and writes them on top of `base`
    /// (for a forwarding, the change of the case the data come from) in one change.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn send_information_case(
        &self,
        officer: &str,
        id: &str,
        to: &AuthorityId,
        basis: Instrument,
        cites: Vec<String>,
        text: &str,
        items: &[(String, Vec<u8>, Vec<CustodyEntry>)],
        conditions: InformationConditions,
        forwarded: Option<Forwarded>,
        salt: Option<String>,
        base: Change,
    ) -> Result<CaseDoc, NodeError> {
        let now_text = self.now().to_string();
        let me = self.cfg.id.to_string();
        let mut refs = Vec::new();
        let mut payload_items = Vec::new();
        for (name, bytes, chain) in items {
            let sha = Sha256Digest::of(bytes).to_string();
            refs.push(ItemRef {
                id: self.new_id()?,
                name: name.clone(),
                sha256: sha.clone(),
                size: bytes.len() as u64,
                custody: chain.clone(),
            });
            payload_items.push(messages::ResultItem {
                name: name.clone(),
                sha256: sha,
                data: base64::engine::general_purpose::STANDARD.encode(bytes),
                custody: chain.clone(),
            });
        }
        let mut custody = Vec::new();
        if let Some(f) = &forwarded {
            custody.push(CustodyEntry {
                at: now_text.clone(),
                by: me.clone(),
                action: format!(
                    "checked against the hashes received and forwarded by {officer} under authorisation {} of {}{}",
                    f.authorisation,
                    f.original_sender,
                    f.written_reference
                        .as_deref()
                        .map(|r| format!(" (written form: {r})"))
                        .unwrap_or_default()
                ),
            });
        } else if !items.is_empty() {
            custody.push(CustodyEntry {
                at: now_text.clone(),
                by: me.clone(),
                action: format!("collected and hashed by {officer}"),
            });
        }
        custody.push(CustodyEntry {
            at: now_text,
            by: me,
            action: format!("sealed to {to}"),
        });
        let unconditional = conditions.is_empty();
        let msg = messages::InformationMsg {
            case: id.to_owned(),
            salt: salt.clone(),
            basis,
            cites: cites.clone(),
            text: text.to_owned(),
            items: payload_items,
            conditions: conditions.clone(),
            custody,
            forwarded: forwarded.clone(),
        };
        let out = self.message(to.as_str(), kinds::INFORMATION, &msg, id, None, false)?;
        let proposal = not_a_request(&cites);
        let doc = CaseDoc {
            request_envelope: Some(out.id.clone()),
            salt,
            information: Some(Information {
                cites,
                text: Some(text.to_owned()),
                conditions,
                status: if unconditional {
                    InformationStatus::Unconditional
                } else {
                    InformationStatus::Offered
                },
                items: refs.clone(),
                text_item: None,
                reply: None,
                sender_decision: None,
                disclosures: Vec::new(),
                forwarded: forwarded.clone(),
            }),
            ..CaseDoc::new(
                id.to_owned(),
                Side::Requesting,
                if unconditional {
                    State::Delivered
                } else {
                    State::Sent
                },
                RequestKind::Mla,
                basis,
                to.to_string(),
                proposal,
            )
        };
        let now = self.now_ms();
        let mut w = Writer::new(now);
        w.change = base;
        w.change
            .cases
            .push(CaseWrite::Insert(to_row(&doc, 1, now, now)?));
        w.event(
            id,
            1,
            "information_sent",
            officer,
            json!({"envelope": out.id, "to": to.as_str(), "items": refs, "forwarded": forwarded}),
        );
        w.leaf(self.information_leaf(&doc, Event::InformationSent)?)?;
        w.audit(
            officer,
            if forwarded.is_some() {
                "forward"
            } else {
                "send_information"
            },
            Some(id),
            json!({"to": to.as_str(), "items": items.len(), "forwarded": forwarded}),
        );
        w.change.outbox.push(out);
        self.store.apply(&w.change).await?;
        Ok(doc)
    }

    /// The recipient answers the conditions of spontaneous information: it accepts them, and
    /// is bound by them (UNCC 40(4), BUD 26), and the information opens; or it cannot comply
    /// (`text` says why; BUD 26), and the information stays withheld until the sender decides.
    pub async fn answer_conditions(
        &self,
        officer: &str,
        case: &str,
        accept: bool,
        text: &str,
    ) -> Result<CaseDoc, NodeError> {
        let (row, mut doc) = self.load(case).await?;
        require_information(
            &doc,
            Side::Requested,
            if accept {
                "accept the conditions"
            } else {
                "decline the conditions"
            },
            &[InformationStatus::Offered],
        )?;
        let text = text.trim();
        if !accept {
            text_required("text", text)?;
        } else if text.len() > 64 * 1024 {
            return Err(NodeError::BadInput("`text` is longer than 64 KiB".into()));
        }
        let opened = if accept {
            Some(self.withheld_text(&doc).await?)
        } else {
            None
        };
        let info = info_mut(&mut doc)?;
        info.reply = Some(self.exchange(officer, text));
        if let Some(t) = opened {
            info.text = Some(t);
            info.status = InformationStatus::Accepted;
            doc.state = State::Delivered;
        } else {
            info.status = InformationStatus::Declined;
            doc.state = State::Consulting;
        }
        let msg = messages::InformationReplyMsg {
            case: doc.id.clone(),
            accepted: accept,
            text: text.to_owned(),
        };
        let (event, leaf) = if accept {
            ("conditions_accepted", Event::ConditionsAccepted)
        } else {
            ("conditions_declined", Event::ConditionsDeclined)
        };
        let leaf = self.information_leaf(&doc, leaf)?;
        self.tell_counterpart(
            officer,
            &row,
            &doc,
            kinds::INFORMATION_REPLY,
            &msg,
            event,
            "answer_conditions",
            json!({"accepted": accept}),
            leaf,
        )
        .await
    }

    /// The sender decides, after the recipient said it cannot comply with the conditions,
    /// whether to provide the information anyway (`release`) or to withdraw it (the
    /// recipient's node then destroys its sealed copy).
    pub async fn decide_information(
        &self,
        officer: &str,
        case: &str,
        release: bool,
        text: &str,
    ) -> Result<CaseDoc, NodeError> {
        let (row, mut doc) = self.load(case).await?;
        require_information(
            &doc,
            Side::Requesting,
            if release {
                "provide the information anyway"
            } else {
                "withdraw the information"
            },
            &[InformationStatus::Declined],
        )?;
        let text = text.trim();
        text_required("text", text)?;
        let ex = self.exchange(officer, text);
        let info = info_mut(&mut doc)?;
        info.sender_decision = Some(ex);
        if release {
            info.status = InformationStatus::Released;
            doc.state = State::Delivered;
        } else {
            info.status = InformationStatus::Withdrawn;
            doc.state = State::Closed;
            doc.closed_reason = Some(format!("withdrawn: {text}"));
        }
        let msg = messages::InformationDecisionMsg {
            case: doc.id.clone(),
            release,
            text: text.to_owned(),
        };
        let (event, leaf) = if release {
            ("information_released", Event::InformationReleased)
        } else {
            ("information_withdrawn", Event::InformationWithdrawn)
        };
        let leaf = self.information_leaf(&doc, leaf)?;
        self.tell_counterpart(
            officer,
            &row,
            &doc,
            kinds::INFORMATION_DECISION,
            &msg,
            event,
            "decide_information",
            json!({"release": release}),
            leaf,
        )
        .await
    }

    /// The recipient, bound by the conditions of information received under the UNCC,
    /// gives the sender notice of a disclosure of exculpatory information (UNCC 40(5)): before
    /// it (`prior`), or, when advance notice was not possible, without delay after it.
    pub async fn notify_disclosure(
        &self,
        officer: &str,
        case: &str,
        prior: bool,
        text: &str,
    ) -> Result<CaseDoc, NodeError> {
        let (row, mut doc) = self.load(case).await?;
        require_information(
            &doc,
            Side::Requested,
            "give notice of a disclosure",
            &[InformationStatus::Accepted],
        )?;
        if doc.basis != Instrument::Uncc {
            return Err(NodeError::BadInput(format!(
                "notice of an exculpatory disclosure is UNCC 40(5); this information was forwarded under {}, for which the digest records no such exception",
                doc.basis
            )));
        }
        let text = text.trim();
        text_required("text", text)?;
        let mut ex = self.exchange(officer, text);
        if !prior {
            ex.text = format!("(after the disclosure; advance notice was not possible) {text}");
        }
        info_mut(&mut doc)?.disclosures.push(ex);
        let msg = messages::DisclosureNoticeMsg {
            case: doc.id.clone(),
            prior,
            text: text.to_owned(),
        };
        let leaf = self.information_leaf(&doc, Event::DisclosureNotified)?;
        self.tell_counterpart(
            officer,
            &row,
            &doc,
            kinds::DISCLOSURE_NOTICE,
            &msg,
            "disclosure_notified",
            "notify_disclosure",
            json!({"prior": prior, "cites": ["UNCC 40(5)"]}),
            leaf,
        )
        .await
    }

    /// The text of withheld information, opened from its sealed item.
    async fn withheld_text(&self, doc: &CaseDoc) -> Result<String, NodeError> {
        let Some(info) = &doc.information else {
            return Err(NodeError::Internal(format!(
                "case `{}` is not an information case",
                doc.id
            )));
        };
        if let Some(t) = &info.text {
            return Ok(t.clone());
        }
        let id = info.text_item.as_deref().ok_or_else(|| {
            NodeError::Internal(format!("case `{}`: no text and no sealed text", doc.id))
        })?;
        let row = self
            .store
            .items(&doc.id)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| NodeError::Internal(format!("case `{}`: sealed text lost", doc.id)))?;
        let bytes = open_sealed(&row)?;
        if Sha256Digest::of(&bytes).as_bytes().as_slice() != row.sha256.as_slice() {
            return Err(NodeError::Internal(format!(
                "case `{}`: the sealed text does not match its hash",
                doc.id
            )));
        }
        String::from_utf8(bytes)
            .map_err(|_| NodeError::Internal(format!("case `{}`: the text is not UTF-8", doc.id)))
    }

    /// Whether an officer may open item rows of `case`: not while spontaneous information is
    /// withheld on the recipient's side.
    pub(super) fn check_open(&self, doc: &CaseDoc) -> Result<(), NodeError> {
        if let Some(info) = &doc.information
            && doc.side == Side::Requested
            && !info.status.open()
        {
            return Err(NodeError::InformationWithheld(format!(
                "the information of case `{}` is {}: it is withheld until its conditions are accepted or the sender provides it anyway",
                doc.id,
                info.status.as_str()
            )));
        }
        Ok(())
    }

    // ----- receiving -------------------------------------------------------------------------

    /// `case.information`: spontaneous information, or data forwarded under an authorisation.
    /// With conditions, the text and the items are sealed at rest and withheld.
    pub(super) async fn receive_information(
        &self,
        from: &str,
        envelope: &str,
        payload: Value,
    ) -> Result<(Change, String), NodeError> {
        let msg: messages::InformationMsg = Self::parse_msg(kinds::INFORMATION, payload)?;
        text_required("text", &msg.text)?;
        check_conditions(&msg.conditions)?;
        if information_cites(msg.basis).is_none() && msg.forwarded.is_none() {
            return Err(NodeError::BadInput(format!(
                "`basis`: spontaneous information is forwarded under UNCC or BUD, not {}",
                msg.basis
            )));
        }
        let same_party = self.party_of(from)? == self.party_of(self.cfg.id.as_str())?;
        match (&msg.salt, same_party) {
            (Some(s), false) if parse_salt(s).is_some() => {}
            (Some(_), false) => {
                return Err(NodeError::BadInput(
                    "`salt` must be 64 lower-case hex digits".into(),
                ));
            }
            (None, true) if msg.forwarded.is_some() => {}
            (None, true) => {
                return Err(NodeError::BadInput(
                    "spontaneous information comes from another Party".into(),
                ));
            }
            (None, false) => {
                return Err(NodeError::BadInput(
                    "`salt`: information between Parties carries the case's salt".into(),
                ));
            }
            (Some(_), true) => {
                return Err(NodeError::BadInput(
                    "`salt`: information between authorities of one Party is not logged".into(),
                ));
            }
        }
        let now = self.now_ms();
        let unconditional = msg.conditions.is_empty();
        // The text travels as one more sealed item when it is withheld.
        let mut results = messages::ResultsMsg {
            case: msg.case.clone(),
            items: msg.items.clone(),
            conditions: DataConditions {
                use_limitation: msg.conditions.use_restriction.is_some(),
                confidential: msg.conditions.confidential,
                retention_days: None,
                other: msg
                    .conditions
                    .use_restriction
                    .iter()
                    .chain(msg.conditions.other.iter())
                    .cloned()
                    .collect(),
            },
            custody: msg.custody.clone(),
        };
        if !unconditional {
            results.items.insert(
                0,
                messages::ResultItem {
                    name: "information text".into(),
                    sha256: Sha256Digest::of(msg.text.as_bytes()).to_string(),
                    data: base64::engine::general_purpose::STANDARD.encode(msg.text.as_bytes()),
                    custody: Vec::new(),
                },
            );
        }
        let receipt = if unconditional {
            "received and sealed at rest".to_owned()
        } else {
            "received and sealed at rest; withheld until the conditions are accepted".to_owned()
        };
        let mut taken = self.take_items(&results, &msg.case, &receipt)?;
        let mut w = Writer::new(now);
        let text_item = if unconditional {
            None
        } else if taken.is_empty() {
            return Err(NodeError::Internal("the sealed text is missing".into()));
        } else {
            let (row, r) = taken.remove(0);
            w.change.items.push(row);
            Some(r.id)
        };
        let mut refs = Vec::new();
        for (row, r) in taken {
            w.change.items.push(row);
            refs.push(r);
        }
        let doc = CaseDoc {
            request_envelope: Some(envelope.to_owned()),
            received_at: Some(ms_to_text(now)),
            salt: msg.salt.clone(),
            information: Some(Information {
                cites: msg.cites.clone(),
                text: unconditional.then(|| msg.text.clone()),
                conditions: msg.conditions.clone(),
                status: if unconditional {
                    InformationStatus::Unconditional
                } else {
                    InformationStatus::Offered
                },
                items: refs.clone(),
                text_item,
                reply: None,
                sender_decision: None,
                disclosures: Vec::new(),
                forwarded: msg.forwarded.clone(),
            }),
            ..CaseDoc::new(
                msg.case.clone(),
                Side::Requested,
                if unconditional {
                    State::Delivered
                } else {
                    State::Received
                },
                RequestKind::Mla,
                msg.basis,
                from.to_owned(),
                not_a_request(&msg.cites),
            )
        };
        w.change
            .cases
            .push(CaseWrite::Insert(to_row(&doc, 1, now, now)?));
        w.event(
            &doc.id,
            1,
            "information_received",
            from,
            json!({"envelope": envelope, "items": refs, "withheld": !unconditional, "forwarded": msg.forwarded}),
        );
        w.leaf(self.information_leaf(&doc, Event::InformationReceived)?)?;
        Ok((w.change, doc.id))
    }

    /// `case.information_reply`: the recipient's answer to the conditions.
    pub(super) async fn receive_information_reply(
        &self,
        from: &str,
        envelope: &str,
        payload: Value,
    ) -> Result<(Change, String), NodeError> {
        let msg: messages::InformationReplyMsg =
            Self::parse_msg(kinds::INFORMATION_REPLY, payload)?;
        let (row, mut doc) = self.counterpart_case(from, &msg.case).await?;
        require_information(
            &doc,
            Side::Requesting,
            "receive an answer to the conditions",
            &[InformationStatus::Offered],
        )?;
        let ex = self.exchange(from, msg.text);
        let info = info_mut(&mut doc)?;
        info.reply = Some(ex);
        let (event, leaf) = if msg.accepted {
            info.status = InformationStatus::Accepted;
            doc.state = State::Delivered;
            ("conditions_accepted", Event::ConditionsAccepted)
        } else {
            info.status = InformationStatus::Declined;
            doc.state = State::Consulting;
            ("conditions_declined", Event::ConditionsDeclined)
        };
        let mut w = Writer::new(self.now_ms());
        w.leaf(self.information_leaf(&doc, leaf)?)?;
        self.finish_message(w, row, doc, event, from, envelope)
            .await
    }

    /// `case.information_decision`: the sender provides the information anyway (it opens) or
    /// withdraws it (the sealed copy is destroyed, the hashes kept).
    pub(super) async fn receive_information_decision(
        &self,
        from: &str,
        envelope: &str,
        payload: Value,
    ) -> Result<(Change, String), NodeError> {
        let msg: messages::InformationDecisionMsg =
            Self::parse_msg(kinds::INFORMATION_DECISION, payload)?;
        let (row, mut doc) = self.counterpart_case(from, &msg.case).await?;
        require_information(
            &doc,
            Side::Requested,
            "receive the sender's decision",
            &[InformationStatus::Declined],
        )?;
        let now = self.now_ms();
        let mut w = Writer::new(now);
        let ex = self.exchange(from, msg.text.clone());
        let (event, leaf) = if msg.release {
            let text = self.withheld_text(&doc).await?;
            let info = info_mut(&mut doc)?;
            info.text = Some(text);
            info.status = InformationStatus::Released;
            info.sender_decision = Some(ex);
            doc.state = State::Delivered;
            ("information_released", Event::InformationReleased)
        } else {
            for mut item in self.store.items(&doc.id).await? {
                if item.deleted_at.is_none() {
                    item.sealed = None;
                    item.key = None;
                    item.deleted_at = Some(now);
                    w.change.items.push(item);
                }
            }
            let info = info_mut(&mut doc)?;
            info.status = InformationStatus::Withdrawn;
            info.sender_decision = Some(ex);
            doc.state = State::Closed;
            doc.closed_reason = Some(format!("withdrawn by the sender: {}", msg.text));
            ("information_withdrawn", Event::InformationWithdrawn)
        };
        w.leaf(self.information_leaf(&doc, leaf)?)?;
        self.finish_message(w, row, doc, event, from, envelope)
            .await
    }

    /// `case.disclosure_notice`: the recipient's notice of an exculpatory disclosure.
    pub(super) async fn receive_disclosure_notice(
        &self,
        from: &str,
        envelope: &str,
        payload: Value,
    ) -> Result<(Change, String), NodeError> {
        let msg: messages::DisclosureNoticeMsg =
            Self::parse_msg(kinds::DISCLOSURE_NOTICE, payload)?;
        let (row, mut doc) = self.counterpart_case(from, &msg.case).await?;
        require_information(
            &doc,
            Side::Requesting,
            "receive a disclosure notice",
            &[InformationStatus::Accepted],
        )?;
        text_required("text", &msg.text)?;
        let mut ex = self.exchange(from, msg.text.clone());
        if !msg.prior {
            ex.text = format!(
                "(after the disclosure; advance notice was not possible) {}",
                msg.text
            );
        }
        info_mut(&mut doc)?.disclosures.push(ex);
        let mut w = Writer::new(self.now_ms());
        w.leaf(self.information_leaf(&doc, Event::DisclosureNotified)?)?;
        self.finish_message(w, row, doc, "disclosure_notified", from, envelope)
            .await
    }
}

/// The case row a use case updates, for callers that write two cases in one change.
pub(super) fn update_of(
    doc: &CaseDoc,
    row: &CaseRow,
    now: comity_store::Millis,
) -> Result<CaseWrite, NodeError> {
    Ok(CaseWrite::Update {
        row: to_row(doc, row.version + 1, row.created_at, now)?,
        expected_version: row.version,
    })
}
