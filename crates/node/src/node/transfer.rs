//! Onward transfer (UNCC 36(3); SAP2 14(10), UNVERIFIED): a node that received data in a case
//! — the results delivered for its request, or spontaneous information — forwards them to a
//! third Party (an authority of another State, or an international organisation listed in the
//! directory) only with the authorisation of the original sender.
//!
//! - The receiver asks ([`Node::request_transfer`]: which items, to whom, why), in a signed
//!   message to the original sender.
//! - The original sender's officer authorises ([`Node::grant_transfer`], optionally with the
//!   reference of an authorisation "in written form", UNCC 36(3), and a last day) or refuses
//!   ([`Node::refuse_transfer`]); it may revoke an authorisation ([`Node::revoke_transfer`]).
//!   Both nodes record every step under the transfer's id, each in one change with its
//!   `comity.leaf/1` leaf.
//! - [`Node::forward`] sends the items to the third Party as an information case of their own
//!   (`case.information` with `forwarded`), each item checked against its hash and carrying its
//!   chain of custody extended with the forwarding and the authorisation's reference, with the
//!   original conditions. Without an authorisation that matches — the same recipient, every
//!   item covered, not refused or revoked, not past its last day — the node refuses it with
//!   `transfer_not_authorised`.
//!
//! Forwarding to another authority of the receiver's own Party needs the same authorisation:
//! UNCC 36(3) speaks of "a third country or international organization" and says nothing of
//! sharing within a Party, and SAP2 14(9) (onward sharing within a Party) is UNVERIFIED, so
//! the digest gives no exemption to rely on. Such a forwarding is domestic and, like a
//! production order, not logged as a case of its own (the `data_forwarded` leaf of the source
//! case records it).

use comity_crypto::Sha256Digest;
use comity_store::{Change, Store};
use comity_transparency::{Event, Leaf};
use comity_types::Instrument;
use serde_json::{Value, json};

use super::spontaneous::update_of;
use super::{Node, Writer, open_sealed, parse_date, salt_hex, text_required};
use crate::case::*;
use crate::env::{Clock, Entropy};
use crate::error::NodeError;
use crate::messages::{self, kinds};

/// A request to forward items of a case to a third Party, as the receiving officer writes it.
#[derive(Debug, Clone, Default)]
pub struct TransferInput {
    /// The items to forward, by their ids on this node.
    pub items: Vec<String>,
    /// The third Party's authority.
    pub to: String,
    /// Why.
    pub purpose: String,
}

/// The original sender's authorisation.
#[derive(Debug, Clone, Default)]
pub struct GrantInput {
    pub text: String,
    /// The reference of the authorisation in written form (UNCC 36(3)).
    pub written_reference: Option<String>,
    /// The last day (`YYYY-MM-DD`, inclusive) the authorisation may be used.
    pub until: Option<String>,
}

/// A forwarding, as the receiving officer writes it.
#[derive(Debug, Clone, Default)]
pub struct ForwardInput {
    /// The authorisation to forward under; `None`: any that matches.
    pub authorisation: Option<String>,
    /// The items, by their ids on this node.
    pub items: Vec<String>,
    pub to: String,
    /// A covering note for the third Party (default: the purpose of the request).
    pub text: Option<String>,
}

/// The provisions behind an onward-transfer authorisation for a case under `basis`.
pub fn transfer_cites(basis: Instrument) -> Vec<String> {
    match basis {
        Instrument::Uncc => vec!["UNCC 36(3)".to_owned()],
        Instrument::Sap2 => vec!["SAP2 14(10) (unverified)".to_owned()],
        // The digest records no onward-transfer rule in BUD or AP1 (BUD has no operative
        // data-protection article); the node asks the same authorisation anyway, and the
        // conditions the data came with (BUD 26, 28(2)) travel with them.
        _ => Vec::new(),
    }
}

/// Whether this node received data in the case from its counterpart (and so may ask to forward
/// them), and the items it received.
fn received_items(doc: &CaseDoc) -> Option<Vec<&ItemRef>> {
    if let Some(info) = &doc.information {
        return (doc.side == Side::Requested && info.status.open())
            .then(|| info.items.iter().collect());
    }
    if doc.production_order.is_some() || doc.side != Side::Requesting || doc.deliveries.is_empty() {
        return None;
    }
    Some(doc.deliveries.iter().flat_map(|d| d.items.iter()).collect())
}

/// The items this node sent in the case (as the original sender), if it sent any.
fn sent_items(doc: &CaseDoc) -> Option<Vec<&ItemRef>> {
    if let Some(info) = &doc.information {
        return (doc.side == Side::Requesting).then(|| info.items.iter().collect());
    }
    if doc.production_order.is_some() || doc.side != Side::Requested || doc.deliveries.is_empty() {
        return None;
    }
    Some(doc.deliveries.iter().flat_map(|d| d.items.iter()).collect())
}

fn not_receiver(doc: &CaseDoc, action: &'static str) -> NodeError {
    NodeError::IllegalTransition {
        case: doc.id.clone(),
        state: doc.state.as_str().to_owned(),
        action,
        allowed: "a case in which this node received data: the results of its request, or spontaneous information it may open".into(),
    }
}

fn not_sender(doc: &CaseDoc, action: &'static str) -> NodeError {
    NodeError::IllegalTransition {
        case: doc.id.clone(),
        state: doc.state.as_str().to_owned(),
        action,
        allowed:
            "a case in which this node sent data: delivered results, or spontaneous information"
                .into(),
    }
}

/// The items named by local ids, each once, among those received.
fn pick(received: &[&ItemRef], ids: &[String], case: &str) -> Result<Vec<TransferItem>, NodeError> {
    if ids.is_empty() {
        return Err(NodeError::BadInput(
            "`items`: name at least one item".into(),
        ));
    }
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        if ids.iter().take(i).any(|x| x == id) {
            return Err(NodeError::BadInput(format!(
                "`items`: item `{id}` is listed twice"
            )));
        }
        let Some(r) = received.iter().find(|r| &r.id == id) else {
            return Err(NodeError::BadInput(format!(
                "`items`: no item `{id}` was received in case `{case}`"
            )));
        };
        out.push(TransferItem {
            name: r.name.clone(),
            sha256: r.sha256.clone(),
        });
    }
    Ok(out)
}

fn find_transfer<'a>(doc: &'a mut CaseDoc, id: &str) -> Result<&'a mut Transfer, NodeError> {
    let case = doc.id.clone();
    doc.transfers
        .iter_mut()
        .find(|t| t.id == id)
        .ok_or_else(|| NodeError::NotFound(format!("no transfer request `{id}` in case `{case}`")))
}

impl<S: Store, C: Clock, E: Entropy> Node<S, C, E> {
    /// The leaf of a transfer event of a case (a treaty request, or information).
    fn transfer_leaf(&self, doc: &CaseDoc, event: Event) -> Result<Option<Leaf>, NodeError> {
        self.case_leaf(doc, event)
    }

    /// Asks the original sender of data received in `case` to authorise their transfer to a
    /// third Party (UNCC 36(3): "shall notify the original transferring State Party of its
    /// intention and request its authorization").
    pub async fn request_transfer(
        &self,
        officer: &str,
        case: &str,
        input: TransferInput,
    ) -> Result<CaseDoc, NodeError> {
        let (row, mut doc) = self.load(case).await?;
        let received =
            received_items(&doc).ok_or_else(|| not_receiver(&doc, "ask to forward data"))?;
        let items = pick(&received, &input.items, case)?;
        let to = self.information_recipient("to", &input.to)?;
        if to.as_str() == doc.counterpart {
            return Err(NodeError::BadInput(format!(
                "`to`: `{to}` sent these data; onward transfer is to a third Party"
            )));
        }
        text_required("purpose", &input.purpose)?;
        let id = self.new_id()?;
        let transfer = Transfer {
            id: id.clone(),
            items: items.clone(),
            to: to.to_string(),
            purpose: input.purpose.trim().to_owned(),
            cites: transfer_cites(doc.basis),
            requested_by: officer.to_owned(),
            requested_at: self.now().to_string(),
            status: TransferStatus::Requested,
            answer: None,
            revocation: None,
            forwards: Vec::new(),
        };
        doc.transfers.push(transfer);
        let msg = messages::TransferRequestMsg {
            case: doc.id.clone(),
            transfer: id.clone(),
            items: items.clone(),
            to: to.to_string(),
            purpose: input.purpose.trim().to_owned(),
        };
        let leaf = self.transfer_leaf(&doc, Event::TransferRequested)?;
        self.tell_counterpart(
            officer,
            &row,
            &doc,
            kinds::TRANSFER_REQUEST,
            &msg,
            "transfer_requested",
            "request_transfer",
            json!({"transfer": id, "to": to.as_str(), "items": items}),
            leaf,
        )
        .await
    }

    /// The original sender authorises a requested onward transfer.
    pub async fn grant_transfer(
        &self,
        officer: &str,
        case: &str,
        transfer: &str,
        input: GrantInput,
    ) -> Result<CaseDoc, NodeError> {
        if let Some(r) = &input.written_reference {
            text_required("written_reference", r)?;
        }
        if input.text.len() > 64 * 1024 {
            return Err(NodeError::BadInput("`text` is longer than 64 KiB".into()));
        }
        let until = match &input.until {
            Some(u) => {
                let d = parse_date("until", u)?;
                let today = self.today();
                if d < today {
                    return Err(NodeError::BadInput(format!(
                        "`until`: {d} is before today ({today})"
                    )));
                }
                Some(d.to_string())
            }
            None => None,
        };
        self.answer_transfer(
            officer,
            case,
            transfer,
            true,
            input.text.trim(),
            input.written_reference.map(|r| r.trim().to_owned()),
            until,
        )
        .await
    }

    /// The original sender refuses a requested onward transfer (`reasons` required).
    pub async fn refuse_transfer(
        &self,
        officer: &str,
        case: &str,
        transfer: &str,
        reasons: &str,
    ) -> Result<CaseDoc, NodeError> {
        text_required("reasons", reasons)?;
        self.answer_transfer(officer, case, transfer, false, reasons.trim(), None, None)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn answer_transfer(
        &self,
        officer: &str,
        case: &str,
        transfer: &str,
        authorised: bool,
        text: &str,
        written_reference: Option<String>,
        until: Option<String>,
    ) -> Result<CaseDoc, NodeError> {
        let action = if authorised {
            "authorise an onward transfer"
        } else {
            "refuse an onward transfer"
        };
        let (row, mut doc) = self.load(case).await?;
        if sent_items(&doc).is_none() {
            return Err(not_sender(&doc, action));
        }
        let at = self.now().to_string();
        let t = find_transfer(&mut doc, transfer)?;
        if t.status != TransferStatus::Requested {
            return Err(NodeError::IllegalTransition {
                case: case.to_owned(),
                state: format!("transfer {}", t.status.as_str()),
                action,
                allowed: "transfer requested".into(),
            });
        }
        t.status = if authorised {
            TransferStatus::Authorised
        } else {
            TransferStatus::Refused
        };
        t.answer = Some(TransferAnswer {
            by: officer.to_owned(),
            at,
            text: text.to_owned(),
            written_reference: written_reference.clone(),
            until: until.clone(),
        });
        let msg = messages::TransferAnswerMsg {
            case: case.to_owned(),
            transfer: transfer.to_owned(),
            authorised,
            text: text.to_owned(),
            written_reference: written_reference.clone(),
            until: until.clone(),
        };
        let (event, leaf, audit) = if authorised {
            (
                "transfer_authorised",
                Event::TransferAuthorised,
                "grant_transfer",
            )
        } else {
            (
                "transfer_refused",
                Event::TransferRefused,
                "refuse_transfer",
            )
        };
        let leaf = self.transfer_leaf(&doc, leaf)?;
        self.tell_counterpart(
            officer,
            &row,
            &doc,
            kinds::TRANSFER_ANSWER,
            &msg,
            event,
            audit,
            json!({"transfer": transfer, "written_reference": written_reference, "until": until}),
            leaf,
        )
        .await
    }

    /// The original sender revokes an authorisation it gave: the receiver may no longer
    /// forward under it (what it forwarded before stays forwarded).
    pub async fn revoke_transfer(
        &self,
        officer: &str,
        case: &str,
        transfer: &str,
        reasons: &str,
    ) -> Result<CaseDoc, NodeError> {
        text_required("reasons", reasons)?;
        let (row, mut doc) = self.load(case).await?;
        if sent_items(&doc).is_none() {
            return Err(not_sender(&doc, "revoke an authorisation"));
        }
        let ex = self.exchange(officer, reasons.trim());
        let t = find_transfer(&mut doc, transfer)?;
        if t.status != TransferStatus::Authorised {
            return Err(NodeError::IllegalTransition {
                case: case.to_owned(),
                state: format!("transfer {}", t.status.as_str()),
                action: "revoke an authorisation",
                allowed: "transfer authorised".into(),
            });
        }
        t.status = TransferStatus::Revoked;
        t.revocation = Some(ex);
        let msg = messages::TransferRevokedMsg {
            case: case.to_owned(),
            transfer: transfer.to_owned(),
            text: reasons.trim().to_owned(),
        };
        let leaf = self.transfer_leaf(&doc, Event::TransferRevoked)?;
        self.tell_counterpart(
            officer,
            &row,
            &doc,
            kinds::TRANSFER_REVOKED,
            &msg,
            "transfer_revoked",
            "revoke_transfer",
            json!({"transfer": transfer}),
            leaf,
        )
        .await
    }

    /// Forwards items received in `case` to a third Party under a matching authorisation of
    /// the original sender; refuses with `transfer_not_authorised` without one. Returns the
    /// information case the items travel in.
    pub async fn forward(
        &self,
        officer: &str,
        case: &str,
        input: ForwardInput,
    ) -> Result<CaseDoc, NodeError> {
        let (row, mut doc) = self.load(case).await?;
        let received = received_items(&doc).ok_or_else(|| not_receiver(&doc, "forward data"))?;
        let wanted = pick(&received, &input.items, case)?;
        let to = self.information_recipient("to", &input.to)?;
        if let Some(t) = &input.text {
            text_required("text", t)?;
        }
        let today = self.today().to_string();
        // Why each candidate does not match, for the refusal.
        let mut why = Vec::new();
        let mut chosen = None;
        for t in &doc.transfers {
            if input.authorisation.as_deref().is_some_and(|a| a != t.id) {
                continue;
            }
            let reason = if t.status != TransferStatus::Authorised {
                Some(format!("`{}` is {}", t.id, t.status.as_str()))
            } else if let Some(until) = t.answer.as_ref().and_then(|a| a.until.as_deref())
                && until < today.as_str()
            {
                Some(format!("`{}` expired after {until}", t.id))
            } else if t.to != to.as_str() {
                Some(format!("`{}` authorises a transfer to `{}`", t.id, t.to))
            } else {
                wanted
                    .iter()
                    .find(|w| !t.items.contains(w))
                    .map(|x| format!("`{}` does not cover item `{}`", t.id, x.name))
            };
            match reason {
                Some(r) => why.push(r),
                None => {
                    chosen = Some(t.clone());
                    break;
                }
            }
        }
        let Some(grant) = chosen else {
            let detail = match (&input.authorisation, why.is_empty()) {
                (Some(a), true) => format!("case `{case}` has no transfer request `{a}`"),
                (None, true) => format!("case `{case}` has no onward-transfer authorisation"),
                (_, false) => why.join("; "),
            };
            return Err(NodeError::TransferNotAuthorised(format!(
                "forwarding these items of case `{case}` to `{to}` needs an authorisation of `{}` that matches ({}): {detail}",
                doc.counterpart,
                if grant_cites(&doc).is_empty() {
                    "Comity's rule".to_owned()
                } else {
                    grant_cites(&doc).join(", ")
                }
            )));
        };
        // The bytes, checked against the hashes they were received with, and their chains.
        let stored = self.store.items(case).await?;
        let mut items = Vec::new();
        for (id, w) in input.items.iter().zip(&wanted) {
            let row = stored.iter().find(|r| &r.id == id).ok_or_else(|| {
                NodeError::Internal(format!("item `{id}` of case `{case}` is not stored"))
            })?;
            let bytes = open_sealed(row)?;
            let sha = Sha256Digest::of(&bytes);
            if sha.to_string() != w.sha256 || sha.as_bytes().as_slice() != row.sha256.as_slice() {
                return Err(NodeError::Internal(format!(
                    "item `{id}` does not match the hash it was received with"
                )));
            }
            let chain: Vec<CustodyEntry> = match row.data.get("custody") {
                Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
                    NodeError::Internal(format!("item `{id}`: custody does not read back: {e}"))
                })?,
                None => Vec::new(),
            };
            items.push((w.name.clone(), bytes, chain));
        }
        let conditions = conditions_of(&doc, &wanted);
        let answer = grant.answer.clone();
        let forwarded = Forwarded {
            from_case: case.to_owned(),
            original_sender: doc.counterpart.clone(),
            authorisation: grant.id.clone(),
            written_reference: answer.as_ref().and_then(|a| a.written_reference.clone()),
        };
        let new_id = self.new_id()?;
        let same_party = self.party_of(to.as_str())? == self.party_of(self.cfg.id.as_str())?;
        let salt = (!same_party).then(|| salt_hex(&self.random()));
        let text = input
            .text
            .as_deref()
            .map(str::trim)
            .unwrap_or(grant.purpose.as_str())
            .to_owned();
        // The source case records the forwarding, in the same change as the new case (whose
        // `request_envelope` is the envelope that carries the items).
        let now = self.now_ms();
        if let Some(t) = doc.transfers.iter_mut().find(|t| t.id == grant.id) {
            t.forwards.push(Forward {
                at: self.now().to_string(),
                by: officer.to_owned(),
                case: new_id.clone(),
                items: wanted.clone(),
            });
        }
        let seq = self.next_seq(case).await?;
        let mut w = Writer::new(now);
        w.event(
            case,
            seq,
            "forwarded",
            officer,
            json!({"transfer": grant.id, "to": to.as_str(), "case": new_id, "items": wanted}),
        );
        w.leaf(self.transfer_leaf(&doc, Event::DataForwarded)?)?;
        w.change.cases.push(update_of(&doc, &row, now)?);
        self.send_information_case(
            officer,
            &new_id,
            &to,
            doc.basis,
            grant.cites.clone(),
            &text,
            &items,
            conditions,
            Some(forwarded),
            salt,
            w.change,
        )
        .await
    }

    // ----- receiving -------------------------------------------------------------------------

    /// `case.transfer_request`: the receiver of data asks this node, their original sender.
    pub(super) async fn receive_transfer_request(
        &self,
        from: &str,
        envelope: &str,
        payload: Value,
    ) -> Result<(Change, String), NodeError> {
        let msg: messages::TransferRequestMsg = Self::parse_msg(kinds::TRANSFER_REQUEST, payload)?;
        let (row, mut doc) = self.counterpart_case(from, &msg.case).await?;
        let sent =
            sent_items(&doc).ok_or_else(|| not_sender(&doc, "receive a transfer request"))?;
        if msg.items.is_empty() {
            return Err(NodeError::BadInput(
                "`items`: the request names no item".into(),
            ));
        }
        for i in &msg.items {
            if !sent.iter().any(|s| s.sha256 == i.sha256) {
                return Err(NodeError::BadInput(format!(
                    "`items`: `{}` ({}) was not sent in case `{}`",
                    i.name, i.sha256, doc.id
                )));
            }
        }
        text_required("purpose", &msg.purpose)?;
        let _: comity_protocol::AuthorityId =
            msg.to
                .parse()
                .map_err(|e: comity_protocol::ProtocolError| {
                    NodeError::BadInput(format!("`to`: {e}"))
                })?;
        if doc.transfers.iter().any(|t| t.id == msg.transfer) {
            return Err(NodeError::BadInput(format!(
                "transfer request `{}` was received before",
                msg.transfer
            )));
        }
        doc.transfers.push(Transfer {
            id: msg.transfer.clone(),
            items: msg.items,
            to: msg.to,
            purpose: msg.purpose,
            cites: transfer_cites(doc.basis),
            requested_by: from.to_owned(),
            requested_at: self.now().to_string(),
            status: TransferStatus::Requested,
            answer: None,
            revocation: None,
            forwards: Vec::new(),
        });
        let mut w = Writer::new(self.now_ms());
        w.leaf(self.transfer_leaf(&doc, Event::TransferRequested)?)?;
        self.finish_message(w, row, doc, "transfer_request_received", from, envelope)
            .await
    }

    /// `case.transfer_answer`: the original sender authorised or refused.
    pub(super) async fn receive_transfer_answer(
        &self,
        from: &str,
        envelope: &str,
        payload: Value,
    ) -> Result<(Change, String), NodeError> {
        let msg: messages::TransferAnswerMsg = Self::parse_msg(kinds::TRANSFER_ANSWER, payload)?;
        let (row, mut doc) = self.counterpart_case(from, &msg.case).await?;
        if let Some(u) = &msg.until {
            parse_date("until", u)?;
        }
        let at = self.now().to_string();
        let t = find_transfer(&mut doc, &msg.transfer)?;
        if t.status != TransferStatus::Requested {
            return Err(NodeError::BadInput(format!(
                "transfer request `{}` is {}, not awaiting an answer",
                msg.transfer,
                t.status.as_str()
            )));
        }
        t.status = if msg.authorised {
            TransferStatus::Authorised
        } else {
            TransferStatus::Refused
        };
        t.answer = Some(TransferAnswer {
            by: from.to_owned(),
            at,
            text: msg.text,
            written_reference: msg.written_reference,
            until: msg.until,
        });
        let (event, leaf) = if msg.authorised {
            ("transfer_authorised", Event::TransferAuthorised)
        } else {
            ("transfer_refused", Event::TransferRefused)
        };
        let mut w = Writer::new(self.now_ms());
        w.leaf(self.transfer_leaf(&doc, leaf)?)?;
        self.finish_message(w, row, doc, event, from, envelope)
            .await
    }

    /// `case.transfer_revoked`: the original sender withdrew an authorisation.
    pub(super) async fn receive_transfer_revoked(
        &self,
        from: &str,
        envelope: &str,
        payload: Value,
    ) -> Result<(Change, String), NodeError> {
        let msg: messages::TransferRevokedMsg = Self::parse_msg(kinds::TRANSFER_REVOKED, payload)?;
        let (row, mut doc) = self.counterpart_case(from, &msg.case).await?;
        let ex = self.exchange(from, msg.text);
        let t = find_transfer(&mut doc, &msg.transfer)?;
        if t.status != TransferStatus::Authorised {
            return Err(NodeError::BadInput(format!(
                "transfer request `{}` is {}, not authorised",
                msg.transfer,
                t.status.as_str()
            )));
        }
        t.status = TransferStatus::Revoked;
        t.revocation = Some(ex);
        let mut w = Writer::new(self.now_ms());
        w.leaf(self.transfer_leaf(&doc, Event::TransferRevoked)?)?;
        self.finish_message(w, row, doc, "transfer_revoked", from, envelope)
            .await
    }
}

/// The provisions of the case's onward-transfer rule.
fn grant_cites(doc: &CaseDoc) -> Vec<String> {
    transfer_cites(doc.basis)
}

/// The conditions the forwarded items came with: those of the information, or of the
/// deliveries that carried them.
fn conditions_of(doc: &CaseDoc, items: &[TransferItem]) -> InformationConditions {
    if let Some(info) = &doc.information {
        return info.conditions.clone();
    }
    let mut out = InformationConditions::default();
    for d in &doc.deliveries {
        if !d
            .items
            .iter()
            .any(|i| items.iter().any(|w| w.sha256 == i.sha256))
        {
            continue;
        }
        let c = &d.conditions;
        out.confidential |= c.confidential;
        if c.use_limitation && out.use_restriction.is_none() {
            out.use_restriction = Some(format!(
                "use only for the proceedings of request {} (the conditions of the original transfer)",
                doc.id
            ));
        }
        for o in &c.other {
            if !out.other.contains(o) {
                out.other.push(o.clone());
            }
        }
    }
    out
}
