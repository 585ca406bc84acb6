//! Exports of a case (docs/interop.md): the Council of Europe T-CY preservation request form
//! (T-CY(2018)11, Articles 29 and 30 of the Budapest Convention) filled from the case, and the
//! portable signed bundle `comity.bundle/1` (the format and its verifier are `comity_bundle`'s).
//!
//! Neither invents anything: a field of the form that the case cannot fill is left empty and
//! listed as missing; the bundle holds what the node stores, as it stores it.

use super::*;
use comity_bundle::{Bundle, EnvelopeRecord, EventRecord, ItemRecord, LogEntry, LogRecord};
use comity_crypto::encoding::b64_encode;
use comity_types::{Code, Content, DataCategory};

/// The value of a T-CY export's `format` member.
pub const TCY_FORMAT: &str = "comity.tcy/1";
/// The template's reference.
pub const TCY_TEMPLATE: &str = "T-CY(2018)11";
/// The template's title.
pub const TCY_TITLE: &str =
    "Data Preservation Request under Articles 29 and 30 Budapest Convention on Cybercrime";
/// Where the template is published.
pub const TCY_SOURCE: &str = "https://rm.coe.int/0900001680a33478";

/// The T-CY preservation request form, filled from one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TcyForm {
    /// Always [`TCY_FORMAT`].
    pub format: &'static str,
    pub template: &'static str,
    pub title: &'static str,
    pub source: &'static str,
    pub case: String,
    /// `requesting` or `requested`: the side of the node that filled it.
    pub side: String,
    pub kind: String,
    pub basis: String,
    /// The articles the request is made under (`BUD 29`, `BUD 30`).
    pub articles: Vec<String>,
    pub sections: Vec<TcySection>,
    /// The ids of the fields the case cannot fill, in form order.
    pub missing: Vec<String>,
}

/// One section of the template.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TcySection {
    /// The section's number in the template, where the digest records it.
    pub number: Option<u32>,
    pub id: &'static str,
    pub title: &'static str,
    /// Whether the digest (treaties-digest.md section 6) verified this section against the
    /// template; unverified sections are shown as such.
    pub verified: bool,
    pub fields: Vec<TcyField>,
}

/// One field: its value from the case, or none and the field named as missing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TcyField {
    pub id: &'static str,
    pub label: &'static str,
    pub value: Option<String>,
    /// `filled`, `missing`, or `not_applicable` (e.g. the previous request's reference of a
    /// new request).
    pub status: &'static str,
    /// Where the value comes from (a field of the case, the directory, an event).
    pub source: &'static str,
    /// The provisions the field answers to.
    pub cites: Vec<&'static str>,
    /// Why a field is empty, or what the value rests on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn field(
    id: &'static str,
    label: &'static str,
    value: Option<String>,
    source: &'static str,
    cites: &[&'static str],
) -> TcyField {
    TcyField {
        id,
        label,
        status: if value.is_some() { "filled" } else { "missing" },
        value,
        source,
        cites: cites.to_vec(),
        note: None,
    }
}

impl TcyField {
    fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    fn not_applicable(mut self) -> Self {
        if self.value.is_none() {
            self.status = "not_applicable";
        }
        self
    }
}

/// The note of a field whose text the request states it supplies but the case does not hold.
fn supplied_note(supplied: bool, content: Content) -> String {
    if supplied {
        format!(
            "the request states that it supplies `{}`, but Comity holds only that fact, not the text",
            content.code()
        )
    } else {
        format!("the request does not supply `{}`", content.code())
    }
}

const NOT_HELD: &str = "Comity's case and directory hold no such detail";

impl<S: Store, C: Clock, E: Entropy> Node<S, C, E> {
    /// The T-CY preservation request form (T-CY(2018)11) filled from case `case`: a
    /// preservation (BUD 29) or traffic-data disclosure (BUD 30) request under the Budapest
    /// Convention, on either side. Any other kind or basis is refused (`export_unavailable`):
    /// the template is written for those articles. The export is audited.
    pub async fn export_tcy(&self, officer: &str, case: &str) -> Result<TcyForm, NodeError> {
        let (_, doc) = self.load(case).await?;
        if doc.production_order.is_some()
            || doc.basis != Instrument::Bud
            || !matches!(
                doc.kind,
                RequestKind::Preservation | RequestKind::TrafficDisclosure
            )
        {
            return Err(NodeError::ExportUnavailable(format!(
                "the T-CY template ({TCY_TEMPLATE}) is written for preservation requests (BUD 29) and expedited disclosure of preserved traffic data (BUD 30) under the Budapest Convention; case `{case}` is {} under {}",
                if doc.production_order.is_some() {
                    "a domestic production order".to_owned()
                } else {
                    format!("a `{}` request", doc.kind.code())
                },
                doc.basis.code()
            )));
        }
        let events = self.store.events(case).await?;
        let form = self.fill_tcy(&doc, &events).await?;
        let mut w = Writer::new(self.now_ms());
        w.audit(officer, "export", Some(case), json!({"format": "tcy"}));
        self.store.apply(&w.change).await?;
        Ok(form)
    }

    async fn fill_tcy(&self, doc: &CaseDoc, events: &[EventRow]) -> Result<TcyForm, NodeError> {
        let file = parse_scenario(&doc.scenario)?;
        let request = &file.scenario.request;
        let supplied = |c: Content| request.supplied.contains(c);
        let requesting_side = doc.side == Side::Requesting;
        let (requesting_id, requested_id) = if requesting_side {
            (self.cfg.id.to_string(), doc.counterpart.clone())
        } else {
            (doc.counterpart.clone(), self.cfg.id.to_string())
        };
        let authority = |id: &str| {
            id.parse::<AuthorityId>()
                .ok()
                .and_then(|a| self.cfg.directory.authority(&a).cloned())
        };
        let describe = |id: &str| {
            authority(id).map(|a| {
                format!(
                    "{} ({}; Party {}; {})",
                    a.name.as_str(),
                    a.id,
                    a.party.as_str(),
                    a.role.as_str()
                )
            })
        };
        let party_name = |code: comity_types::PartyCode| {
            file.scenario
                .parties
                .iter()
                .find(|p| p.code == code)
                .map(|p| format!("{} ({})", p.name, p.code))
        };
        let sent = events.iter().find(|e| e.kind == "sent");
        let received = events.iter().find(|e| e.kind == "received");
        let dated = if requesting_side { sent } else { received };
        let date = dated.and_then(|e| {
            jiff::Timestamp::from_millisecond(e.at).ok().map(|t| {
                t.to_zoned_datetime(self.cfg.time_zone.clone())
                    .strftime("%d/%m/%Y")
                    .to_string()
            })
        });
        let bud29 = "BUD 29(2)";
        let art30 = doc.kind == RequestKind::TrafficDisclosure;
        let mut articles = vec!["BUD 29".to_owned()];
        if art30 {
            articles.push("BUD 30".to_owned());
        }

        // The request envelope: its id, and the key that signed it.
        let request_envelope = doc.request_envelope.clone().or_else(|| {
            sent.and_then(|e| e.data.get("envelope"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        let signature = match (&request_envelope, requesting_side) {
            (Some(id), true) => {
                let rows = self.store.outbox(Some(&doc.id)).await?;
                rows.iter()
                    .find(|r| &r.id == id)
                    .and_then(|r| comity_protocol::envelope::parse_envelope(&r.bytes).ok())
                    .map(|env| {
                        format!(
                            "envelope {id} signed by `{}` with Ed25519 key {} (docs/protocol.md 3.2)",
                            env.from, env.signer
                        )
                    })
            }
            (Some(id), false) => self.store.inbound(id).await?.map(|row| {
                format!(
                    "envelope {id} from `{}`, its Ed25519 signature verified on receipt against the directory (SHA-256 {})",
                    row.from,
                    hex(&row.wire_hash)
                )
            }),
            (None, _) => None,
        };

        let data_types = (!request.data.is_empty()).then(|| {
            request
                .data
                .iter()
                .map(|d| match d {
                    DataCategory::Subscriber => "subscriber information",
                    DataCategory::Traffic => "traffic data",
                    DataCategory::Content => "content data",
                })
                .collect::<Vec<_>>()
                .join(", ")
        });
        let offence = format!(
            "{} (offence category of the request); maximum penalty in the requesting Party: {} years",
            request.offence.category.code(),
            request.offence.max_penalty_years
        );
        let urgency = {
            let mut parts = Vec::new();
            if doc.emergency {
                parts.push("emergency request".to_owned());
            }
            if let Some(h) = doc.respond_within_hours {
                parts.push(format!("response asked within {h} hours"));
            }
            if let Some(r) = &doc.deadline_reason {
                parts.push(format!("reason: {r}"));
            }
            (!parts.is_empty()).then(|| parts.join("; "))
        };
        let requested_endpoint = authority(&requesting_id).map(|a| {
            format!(
                "a signed and sealed Comity envelope to `{}` (node endpoint {})",
                a.id,
                a.node_endpoint.as_str()
            )
        });

        let sections = vec![
            TcySection {
                number: Some(1),
                id: "date",
                title: "Date",
                verified: true,
                fields: vec![field(
                    "date",
                    "Date (DD/MM/YYYY)",
                    date,
                    if requesting_side {
                        "the case's `sent` event, in the node's calendar"
                    } else {
                        "the case's `received` event, in the node's calendar"
                    },
                    &[],
                )
                .note(if requesting_side {
                    "the day the request was sent"
                } else {
                    "the day the request was received"
                })],
            },
            TcySection {
                number: Some(2),
                id: "reference",
                title: "Reference / case number",
                verified: true,
                fields: vec![field(
                    "reference",
                    "Reference / case number",
                    Some(doc.id.clone()),
                    "case.id (the id the requesting node gave the case)",
                    &[],
                )],
            },
            TcySection {
                number: Some(3),
                id: "status",
                title: "Request status",
                verified: true,
                fields: vec![
                    field(
                        "status",
                        "New request or extension of a previous request",
                        Some("new request".into()),
                        "the case is the request itself; extensions are asked within the case",
                        &[],
                    ),
                    field(
                        "previous_reference",
                        "Ticket / reference number of the previous request",
                        None,
                        "only for an extension",
                        &[],
                    )
                    .not_applicable(),
                ],
            },
            TcySection {
                number: Some(4),
                id: "requested_authority",
                title: "Requested authority",
                verified: true,
                fields: vec![field(
                    "requested_authority",
                    "Requested authority",
                    describe(&requested_id),
                    "the directory's entry of the requested authority (case.counterpart or this node)",
                    &[],
                )],
            },
            TcySection {
                number: Some(5),
                id: "requesting_authority",
                title: "Requesting authority",
                verified: true,
                fields: vec![
                    field(
                        "requesting_organisation",
                        "Organisation",
                        describe(&requesting_id),
                        "the directory's entry of the requesting authority",
                        &["BUD 29(2)(a)"],
                    ),
                    field(
                        "requesting_person",
                        "Person in charge of the request",
                        if requesting_side {
                            sent.map(|e| e.actor.clone())
                        } else {
                            None
                        },
                        "the officer of the case's `sent` event (requesting side only)",
                        &["BUD 29(2)(a)"],
                    ),
                    field("requesting_address", "Address", None, NOT_HELD, &[]),
                    field("requesting_telephone", "Telephone", None, NOT_HELD, &[]),
                    field("requesting_cell_phone", "Cell phone", None, NOT_HELD, &[]),
                    field("requesting_email", "E-mail", None, NOT_HELD, &[]),
                    field("requesting_fax", "Fax", None, NOT_HELD, &[]),
                    field("requesting_office_hours", "Office hours", None, NOT_HELD, &[]),
                    field(
                        "requesting_time_zone",
                        "Time zone",
                        if requesting_side {
                            self.cfg.time_zone.iana_name().map(str::to_owned)
                        } else {
                            None
                        },
                        "the node's calendar (requesting side only)",
                        &[],
                    ),
                    field(
                        "preferred_means",
                        "Response by e-mail or other expedited means preferred / preferred means",
                        requested_endpoint,
                        "the directory's node endpoint of the requesting authority: the request travels, and is answered, on the Comity network",
                        &[],
                    ),
                ],
            },
            TcySection {
                number: Some(6),
                id: "confirmation_contact",
                title: "Contact for additional confirmation from the requesting authority",
                verified: true,
                fields: vec![
                    field("contact_name", "Name", None, NOT_HELD, &[]),
                    field("contact_job_title", "Job title", None, NOT_HELD, &[]),
                    field("contact_function", "Function", None, NOT_HELD, &[]),
                    field("contact_telephone", "Telephone", None, NOT_HELD, &[]),
                    field("contact_cell_phone", "Cell phone", None, NOT_HELD, &[]),
                    field("contact_email", "E-mail", None, NOT_HELD, &[]),
                ],
            },
            TcySection {
                number: Some(7),
                id: "investigative_authority",
                title: "Investigative / operational authority",
                // The digest's copy of the template is truncated here.
                verified: false,
                fields: vec![field(
                    "investigative_authority",
                    "Investigative / operational authority",
                    None,
                    NOT_HELD,
                    &[],
                )
                .note("the stored copy of the template is truncated from this section on (treaties-digest.md section 6)")],
            },
            TcySection {
                number: None,
                id: "offence",
                title: "Offence(s) and legal provisions",
                verified: false,
                fields: vec![
                    field(
                        "offence",
                        "Offence(s)",
                        Some(offence),
                        "the request's offence (scenario `request.offence`)",
                        &["BUD 29(2)(b)"],
                    ),
                    field(
                        "legal_provisions",
                        "Legal provisions",
                        None,
                        "the requesting Party's law is not part of the case",
                        &["BUD 29(2)(b)"],
                    ),
                    field(
                        "parties",
                        "Requesting and requested Parties",
                        match (party_name(request.from), party_name(request.to)) {
                            (Some(a), Some(b)) => Some(format!("{a} to {b}")),
                            _ => None,
                        },
                        "the request's Parties (scenario `parties`)",
                        &[],
                    ),
                ],
            },
            TcySection {
                number: None,
                id: "facts",
                title: "Summary of facts",
                verified: false,
                fields: vec![field(
                    "facts_summary",
                    "Brief summary of the related facts",
                    None,
                    "not held by the case",
                    &["BUD 29(2)(b)"],
                )
                .note(supplied_note(supplied(Content::OffenceAndFacts), Content::OffenceAndFacts))],
            },
            TcySection {
                number: None,
                id: "data",
                title: "Data to be preserved",
                verified: false,
                fields: vec![
                    field(
                        "data_types",
                        "Type of data (subscriber / traffic / content)",
                        data_types,
                        "the request's data categories (scenario `request.data`)",
                        &[bud29],
                    ),
                    field(
                        "identifiers",
                        "Identifiers (account, e-mail, IP address with date, time and time zone)",
                        None,
                        "not held by the case",
                        &["BUD 29(2)(c)"],
                    )
                    .note(supplied_note(
                        supplied(Content::DataAndRelationship),
                        Content::DataAndRelationship,
                    )),
                    field(
                        "period",
                        "Period",
                        None,
                        "not held by the case",
                        &["BUD 29(2)(c)"],
                    ),
                    field(
                        "relationship",
                        "Relationship of the data to the offence",
                        None,
                        "not held by the case",
                        &["BUD 29(2)(c)"],
                    )
                    .note(supplied_note(
                        supplied(Content::DataAndRelationship),
                        Content::DataAndRelationship,
                    )),
                ],
            },
            TcySection {
                number: None,
                id: "custodian",
                title: "Custodian / service provider and location",
                verified: false,
                fields: vec![field(
                    "custodian",
                    "Custodian of the data or location of the computer system",
                    None,
                    "not held by the case",
                    &["BUD 29(2)(d)"],
                )
                .note(supplied_note(
                    supplied(Content::CustodianOrLocation),
                    Content::CustodianOrLocation,
                ))],
            },
            TcySection {
                number: None,
                id: "necessity",
                title: "Necessity / urgency",
                verified: false,
                fields: vec![
                    field(
                        "necessity",
                        "Necessity of the preservation",
                        None,
                        "not held by the case",
                        &["BUD 29(2)(e)"],
                    )
                    .note(supplied_note(supplied(Content::Necessity), Content::Necessity)),
                    field(
                        "urgency",
                        "Urgency",
                        urgency,
                        "case.emergency, case.respond_within_hours, case.deadline_reason",
                        &[],
                    ),
                ],
            },
            TcySection {
                number: None,
                id: "mla_follows",
                title: "Mutual assistance request to follow",
                verified: false,
                fields: vec![field(
                    "mla_follows",
                    "The Party intends to submit a request for mutual assistance",
                    supplied(Content::IntentToRequestMla).then(|| {
                        "yes: the request states the intent to submit a request for mutual assistance for the search, seizure or disclosure of the data".to_owned()
                    }),
                    "the request's supplied contents (`intent_to_request_mla`)",
                    &["BUD 29(1)", "BUD 29(2)(f)"],
                )],
            },
            TcySection {
                number: None,
                id: "confidentiality",
                title: "Confidentiality / do not notify the user",
                verified: false,
                fields: vec![field(
                    "confidentiality",
                    "Keep the request confidential; do not notify the user",
                    supplied(Content::Confidentiality)
                        .then(|| "requested".to_owned()),
                    "the request's supplied contents (`confidentiality`)",
                    &[],
                )
                .note("Article 29(2) lists no confidentiality item (UNCC 42(3)(g) adds one)")],
            },
            TcySection {
                number: None,
                id: "traffic_disclosure",
                title: "Expedited disclosure of preserved traffic data (Article 30)",
                verified: false,
                fields: vec![field(
                    "traffic_disclosure",
                    "Disclosure of traffic data identifying other service providers and the path of the communication",
                    Some(if art30 {
                        "requested (a traffic-data disclosure request)".to_owned()
                    } else {
                        "not requested (a preservation request)".to_owned()
                    }),
                    "case.kind",
                    &["BUD 30(1)"],
                )],
            },
            TcySection {
                number: None,
                id: "signature",
                title: "Signature / authentication",
                verified: false,
                fields: vec![field(
                    "signature",
                    "Signature / authentication",
                    signature,
                    "the request's envelope (the node's outbox when sent, its inbound record when received)",
                    &[],
                )],
            },
        ];
        let missing = sections
            .iter()
            .flat_map(|s| s.fields.iter())
            .filter(|f| f.status == "missing")
            .map(|f| f.id.to_owned())
            .collect();
        Ok(TcyForm {
            format: TCY_FORMAT,
            template: TCY_TEMPLATE,
            title: TCY_TITLE,
            source: TCY_SOURCE,
            case: doc.id.clone(),
            side: doc.side.as_str().to_owned(),
            kind: doc.kind.code().to_owned(),
            basis: doc.basis.code().to_owned(),
            articles,
            sections,
            missing,
        })
    }

    /// The portable signed bundle of case `case` (`comity.bundle/1`, docs/interop.md section
    /// 3), signed with the node's signing key. Its leaves are proved to the stored checkpoint
    /// (with the cosignatures it holds) when that covers every leaf of the case; otherwise the
    /// node first signs a checkpoint of its current log. The export is audited.
    pub async fn export_bundle(&self, officer: &str, case: &str) -> Result<Vec<u8>, NodeError> {
        let (_, doc) = self.load(case).await?;
        let events = self.store.events(case).await?;
        let outbox = self.store.outbox(Some(case)).await?;
        let items = self.store.items(case).await?;

        let mut envelopes = Vec::new();
        let sent_ids: std::collections::BTreeSet<&str> =
            outbox.iter().map(|r| r.id.as_str()).collect();
        for row in &outbox {
            envelopes.push(EnvelopeRecord {
                direction: "sent".into(),
                id: row.id.clone(),
                bytes: Some(b64_encode(&row.bytes)),
                from: None,
                received_at: None,
                sha256: None,
                result: None,
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for e in &events {
            let Some(id) = e.data.get("envelope").and_then(Value::as_str) else {
                continue;
            };
            if sent_ids.contains(id) || !seen.insert(id.to_owned()) {
                continue;
            }
            if let Some(row) = self.store.inbound(id).await? {
                envelopes.push(EnvelopeRecord {
                    direction: "received".into(),
                    id: row.envelope_id.clone(),
                    bytes: None,
                    from: Some(row.from.clone()),
                    received_at: Some(ms_to_text(row.received_at)),
                    sha256: Some(hex(&row.wire_hash)),
                    result: Some(row.result.clone()),
                });
            }
        }

        let (checkpoint, entries) = self.case_leaves(&doc).await?;
        let directory = self
            .cfg
            .directory
            .directory()
            .to_bytes()
            .map_err(|e| NodeError::Internal(format!("the directory: {e}")))?;
        let case_value =
            serde_json::to_value(&doc).map_err(|e| NodeError::Internal(e.to_string()))?;
        let bundle = Bundle {
            format: comity_bundle::BUNDLE_FORMAT.into(),
            network: self.cfg.directory.directory().network.to_string(),
            node: self.cfg.id.to_string(),
            exported_at: ms_to_text(self.now_ms()),
            case: case_value,
            events: events
                .iter()
                .map(|e| EventRecord {
                    seq: e.seq,
                    at: ms_to_text(e.at),
                    kind: e.kind.clone(),
                    actor: e.actor.clone(),
                    data: e.data.clone(),
                })
                .collect(),
            envelopes,
            items: items
                .iter()
                .map(|i| ItemRecord {
                    id: i.id.clone(),
                    sha256: hex(&i.sha256),
                    retain_until: i.retain_until.map(ms_to_text),
                    deleted_at: i.deleted_at.map(ms_to_text),
                    data: i.data.clone(),
                })
                .collect(),
            log: LogRecord {
                checkpoint,
                entries,
            },
            directory: b64_encode(&directory),
            signer: String::new(),
            signature: String::new(),
        };
        let bytes = comity_bundle::sign(bundle, &self.cfg.signing)
            .map_err(|e| NodeError::Internal(e.to_string()))?;
        let mut w = Writer::new(self.now_ms());
        w.audit(
            officer,
            "export",
            Some(case),
            json!({"format": "bundle", "sha256": Sha256Digest::of(&bytes).to_string()}),
        );
        self.store.apply(&w.change).await?;
        Ok(bytes)
    }

    /// The signed checkpoint the case's leaves are proved to, and each leaf with its proof.
    async fn case_leaves(&self, doc: &CaseDoc) -> Result<(String, Vec<LogEntry>), NodeError> {
        let commitment = doc
            .salt
            .as_deref()
            .and_then(parse_salt)
            .map(|salt| case_commitment(&salt, &doc.id));
        let head = self.store.log_head().await?;
        let mut found = Vec::new();
        if let Some(commitment) = commitment {
            const CHUNK: u64 = 1024;
            let mut start = 0;
            while start < head.size {
                let end = head.size.min(start.saturating_add(CHUNK));
                for (index, bytes) in (start..end).zip(self.store.log_entries(start..end).await?) {
                    if Leaf::decode(&bytes).is_ok_and(|l| l.case == Some(commitment)) {
                        found.push((index, bytes));
                    }
                }
                start = end;
            }
        }
        let last = found.last().map(|(i, _)| *i);
        let stored = self.store.checkpoint().await?;
        let note = match stored {
            Some(c) if last.is_none_or(|l| l < c.size) => c.note,
            _ => self.checkpoint().await?,
        };
        let size = comity_tlog::Note::parse(note.as_bytes())
            .ok()
            .and_then(|n| comity_tlog::Checkpoint::parse(n.text()).ok())
            .map(|c| c.size())
            .ok_or_else(|| NodeError::Internal("the stored checkpoint does not parse".into()))?;
        let mut entries = Vec::new();
        for (index, bytes) in found {
            let proof = self.store.log_inclusion_proof(size, index).await?;
            let leaf = String::from_utf8(bytes)
                .map_err(|_| NodeError::Internal(format!("log entry {index} is not text")))?;
            entries.push(LogEntry {
                index,
                leaf,
                proof: proof.iter().map(Hash::to_base64).collect(),
            });
        }
        Ok((note, entries))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
