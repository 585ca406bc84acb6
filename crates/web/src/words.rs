//! The engine's vocabulary and explanations in the languages of the UI. The rule files keep
//! English (a lawyer reads them beside the treaty); the UI translates by code: every ground,
//! content, duty, outcome, ground status, request kind, data category, offence, disposition
//! and explanation step has its words here in each language of [`crate::i18n::CATALOGUE`]
//! (a test walks every value of the vocabularies in `comity-types`). Quotations of the treaty
//! stay in the language of the rule file, between quotation marks.

use std::fmt::Write as _;

use comity_rules::decision::{Decision, Review, Step};
use comity_rules::model::Provision;
use comity_types::{Code, GroundStatus, Scenario};

/// One entry of the catalogue: the vocabulary (`Code::WHAT`, or `step`, `deadline`,
/// `outcome_words`), the code, English and French.
pub type Entry = (&'static str, &'static str, &'static str, &'static str);

/// The catalogue of the engine's codes.
pub static WORDS: &[Entry] = &[
    // grounds
    (
        "ground",
        "essential_interests",
        "prejudice to essential interests (sovereignty, security, ordre public)",
        "atteinte aux intérêts essentiels (souveraineté, sécurité, ordre public)",
    ),
    (
        "ground",
        "domestic_prohibition",
        "prohibited by the requested Party's law",
        "interdit par le droit de la Partie requise",
    ),
    (
        "ground",
        "persecution",
        "persecution on account of sex, race, religion, nationality, ethnic origin or political opinions",
        "persécution en raison du sexe, de la race, de la religion, de la nationalité, de l’origine ethnique ou des opinions politiques",
    ),
    (
        "ground",
        "political_offence",
        "political offence",
        "infraction politique",
    ),
    (
        "ground",
        "no_dual_criminality",
        "no dual criminality",
        "absence de double incrimination",
    ),
    (
        "ground",
        "fiscal_only",
        "fiscal offence only",
        "infraction uniquement fiscale",
    ),
    ("ground", "bank_secrecy", "bank secrecy", "secret bancaire"),
    (
        "ground",
        "nationality",
        "the person is a national of the requested Party",
        "la personne est ressortissante de la Partie requise",
    ),
    // contents
    (
        "content",
        "requesting_authority",
        "the authority making the request",
        "l’autorité dont émane la demande",
    ),
    (
        "content",
        "investigation_subject",
        "the subject matter of the investigation, prosecution or proceeding",
        "l’objet de l’enquête, des poursuites ou de la procédure",
    ),
    (
        "content",
        "facts_summary",
        "a summary of the relevant facts",
        "un résumé des faits pertinents",
    ),
    (
        "content",
        "assistance_sought",
        "the assistance sought",
        "l’assistance demandée",
    ),
    (
        "content",
        "purpose",
        "the purpose for which the evidence or data is sought",
        "la finalité pour laquelle les preuves ou données sont demandées",
    ),
    (
        "content",
        "offence_and_facts",
        "the offence and a brief summary of the facts",
        "l’infraction et un bref exposé des faits",
    ),
    (
        "content",
        "data_and_relationship",
        "the data to be preserved and its relationship to the offence",
        "les données à conserver et leur lien avec l’infraction",
    ),
    (
        "content",
        "necessity",
        "the necessity of the measure",
        "la nécessité de la mesure",
    ),
    (
        "content",
        "intent_to_request_mla",
        "that a request for mutual assistance will follow",
        "l’intention de présenter une demande d’entraide",
    ),
    (
        "content",
        "justification",
        "the justification of the request",
        "la justification de la demande",
    ),
    (
        "content",
        "collection_period",
        "the period of collection",
        "la durée de la collecte",
    ),
    (
        "content",
        "persons_or_items",
        "the persons or items concerned",
        "les personnes ou objets concernés",
    ),
    (
        "content",
        "time_period",
        "the time period concerned",
        "la période concernée",
    ),
    (
        "content",
        "custodian_or_location",
        "the custodian of the data or the location of the system",
        "le détenteur des données ou l’emplacement du système",
    ),
    (
        "content",
        "owner_or_location",
        "the owner or location of the data",
        "le propriétaire ou l’emplacement des données",
    ),
    (
        "content",
        "confidentiality",
        "whether the request is to be kept confidential",
        "la confidentialité de la demande",
    ),
    // duties
    (
        "duty",
        "give_reasons_for_refusal",
        "give reasons for a refusal or postponement",
        "motiver tout refus ou ajournement",
    ),
    (
        "duty",
        "consult_before_refusal",
        "consult the requesting Party before refusing or postponing",
        "consulter la Partie requérante avant de refuser ou d’ajourner",
    ),
    (
        "duty",
        "use_limitation",
        "the data may be used only for the purpose stated",
        "les données ne peuvent servir qu’à la finalité indiquée",
    ),
    (
        "duty",
        "keep_confidential",
        "keep the request confidential",
        "garder la demande confidentielle",
    ),
    (
        "duty",
        "authorise_onward_transfer",
        "onward transfer of the data needs the requested Party's authorisation",
        "tout transfert ultérieur des données requiert l’autorisation de la Partie requise",
    ),
    (
        "duty",
        "preserve_until_mla_decided",
        "keep the data preserved until the request for mutual assistance is decided",
        "conserver les données jusqu’à la décision sur la demande d’entraide",
    ),
    (
        "duty",
        "submit_for_prosecution",
        "submit the case to the competent authorities for prosecution (aut dedere aut judicare)",
        "soumettre l’affaire aux autorités compétentes aux fins de poursuites (aut dedere aut judicare)",
    ),
    // outcomes
    (
        "outcome",
        "not_applicable",
        "not applicable",
        "non applicable",
    ),
    ("outcome", "nonconforming", "nonconforming", "non conforme"),
    ("outcome", "refuse", "refuse", "refus"),
    ("outcome", "may_refuse", "may refuse", "refus possible"),
    ("outcome", "execute", "execute", "exécution"),
    (
        "outcome_words",
        "not_applicable",
        "the invoked instrument does not cover this request",
        "l’instrument invoqué ne couvre pas cette demande",
    ),
    (
        "outcome_words",
        "nonconforming",
        "required contents are missing",
        "des éléments obligatoires manquent",
    ),
    (
        "outcome_words",
        "refuse",
        "a ground is available and the requested Party's law makes it refuse",
        "un motif est ouvert et le droit de la Partie requise l’oblige à refuser",
    ),
    (
        "outcome_words",
        "may_refuse",
        "a ground is available: the requested Party may refuse",
        "un motif est ouvert : la Partie requise peut refuser",
    ),
    (
        "outcome_words",
        "execute",
        "the requested Party is to assist; no available ground is raised",
        "la Partie requise doit prêter assistance ; aucun motif ouvert n’est soulevé",
    ),
    // ground statuses
    (
        "ground status",
        "available",
        "available: the instrument permits refusal on it",
        "ouvert : l’instrument permet de refuser sur ce motif",
    ),
    (
        "ground status",
        "excluded",
        "excluded: the instrument does not permit refusal on it",
        "exclu : l’instrument ne permet pas de refuser sur ce motif",
    ),
    (
        "ground status",
        "not_provided",
        "not provided: the instrument neither lists nor forbids it",
        "non prévu : l’instrument ne le prévoit ni ne l’interdit",
    ),
    (
        "ground status",
        "deferred",
        "deferred: another instrument governs it",
        "renvoyé : un autre instrument le régit",
    ),
    // request kinds
    (
        "request kind",
        "mla",
        "mutual legal assistance",
        "entraide judiciaire",
    ),
    (
        "request kind",
        "preservation",
        "expedited preservation of stored data",
        "conservation rapide de données stockées",
    ),
    (
        "request kind",
        "traffic_disclosure",
        "expedited disclosure of preserved traffic data",
        "divulgation rapide de données relatives au trafic conservées",
    ),
    (
        "request kind",
        "stored_data",
        "access to stored data",
        "accès à des données stockées",
    ),
    (
        "request kind",
        "realtime_traffic",
        "real-time collection of traffic data",
        "collecte en temps réel de données relatives au trafic",
    ),
    (
        "request kind",
        "interception",
        "interception of content data",
        "interception de données relatives au contenu",
    ),
    ("request kind", "extradition", "extradition", "extradition"),
    (
        "request kind",
        "emergency_disclosure",
        "emergency disclosure",
        "divulgation en urgence",
    ),
    // data categories
    (
        "data category",
        "subscriber",
        "subscriber information",
        "informations relatives aux abonnés",
    ),
    (
        "data category",
        "traffic",
        "traffic data",
        "données relatives au trafic",
    ),
    (
        "data category",
        "content",
        "content data",
        "données relatives au contenu",
    ),
    // offences
    (
        "offence category",
        "illegal_access",
        "illegal access",
        "accès illégal",
    ),
    (
        "offence category",
        "illegal_interception",
        "illegal interception",
        "interception illégale",
    ),
    (
        "offence category",
        "data_interference",
        "data interference",
        "atteinte à l’intégrité des données",
    ),
    (
        "offence category",
        "system_interference",
        "system interference",
        "atteinte à l’intégrité du système",
    ),
    (
        "offence category",
        "misuse_of_devices",
        "misuse of devices",
        "abus de dispositifs",
    ),
    (
        "offence category",
        "forgery",
        "computer-related forgery",
        "falsification informatique",
    ),
    (
        "offence category",
        "fraud",
        "computer-related fraud",
        "fraude informatique",
    ),
    (
        "offence category",
        "csam",
        "child sexual abuse material",
        "matériel d’abus sexuels sur enfants",
    ),
    (
        "offence category",
        "grooming",
        "solicitation of children",
        "sollicitation d’enfants",
    ),
    (
        "offence category",
        "ncii",
        "non-consensual dissemination of intimate images",
        "diffusion non consentie d’images intimes",
    ),
    (
        "offence category",
        "laundering",
        "laundering of proceeds of crime",
        "blanchiment du produit du crime",
    ),
    (
        "offence category",
        "copyright",
        "infringements of copyright and related rights",
        "atteintes à la propriété intellectuelle et aux droits connexes",
    ),
    (
        "offence category",
        "racist_material",
        "racist and xenophobic material",
        "matériel raciste et xénophobe",
    ),
    (
        "offence category",
        "other",
        "another offence",
        "autre infraction",
    ),
    // dispositions
    ("disposition", "executed", "Execute", "Exécuter"),
    (
        "disposition",
        "partially_executed",
        "Execute in part",
        "Exécuter en partie",
    ),
    (
        "disposition",
        "conditionally_executed",
        "Execute on conditions",
        "Exécuter sous conditions",
    ),
    ("disposition", "postponed", "Postpone", "Ajourner"),
    ("disposition", "refused", "Refuse", "Refuser"),
    // protected roles
    ("protected role", "journalist", "journalist", "journaliste"),
    (
        "protected role",
        "security_researcher",
        "security researcher",
        "chercheur en sécurité",
    ),
    (
        "protected role",
        "human_rights_defender",
        "human rights defender",
        "défenseur des droits humains",
    ),
    (
        "protected role",
        "whistleblower",
        "whistleblower",
        "lanceur d’alerte",
    ),
    // the steps of an explanation
    ("step", "applicability", "applicability", "applicabilité"),
    ("step", "kind", "kind of request", "type de demande"),
    ("step", "emergency", "emergency", "urgence"),
    ("step", "scope", "scope", "champ d’application"),
    ("step", "mla_treaty", "MLA treaty", "traité d’entraide"),
    ("step", "contents", "contents", "contenu"),
    ("step", "ground", "ground", "motif"),
    ("step", "outcome", "outcome", "conclusion"),
    ("step", "deadline", "deadline", "délai"),
    ("step", "duty", "duty", "obligation"),
    ("step", "review", "review", "examen"),
    // deadlines the rule files name
    (
        "deadline",
        "preservation_period",
        "preservation period",
        "durée de conservation",
    ),
];

/// The words for `code` of `vocabulary` in `lang` (English where `lang` has none).
pub fn lookup(lang: &str, vocabulary: &str, code: &str) -> Option<&'static str> {
    WORDS
        .iter()
        .find(|(v, c, _, _)| *v == vocabulary && *c == code)
        .map(|(_, _, en, fr)| if lang == "fr" { *fr } else { *en })
}

/// The words for a value of a vocabulary, its code if the catalogue has none.
pub fn of<T: Code>(lang: &str, value: T) -> &'static str {
    lookup(lang, T::WHAT, value.code()).unwrap_or(value.code())
}

/// The words for `code` of `vocabulary` in `lang`, for templates: empty if the catalogue has
/// none (the code is shown beside them anyway).
pub fn w(lang: &str, vocabulary: &str, code: &str) -> &'static str {
    lookup(lang, vocabulary, code).unwrap_or_default()
}

fn quoted(p: &Provision) -> String {
    if p.quote.is_empty() {
        String::new()
    } else {
        format!(" : « {} »", p.quote)
    }
}

fn years(y: f64) -> String {
    if y.fract() == 0.0 {
        format!("{y:.0}")
    } else {
        format!("{y}")
    }
}

/// One step of the explanation in French: the step's code, the text, the citations.
#[derive(Debug)]
pub struct Explained {
    pub step: &'static str,
    pub text: String,
    pub cites: Vec<String>,
}

fn cites_of(p: &Provision) -> Vec<String> {
    p.cites.iter().map(ToString::to_string).collect()
}

/// The explanation of a decision in French, step by step as `comity_rules::render::explain`
/// gives it in English (same steps, same citations, in the same order).
pub fn explain_fr(d: &Decision<'_>, s: &Scenario) -> Vec<Explained> {
    const L: &str = "fr";
    let req = &s.request;
    let basis = d.basis;
    let kind = of(L, req.kind);
    let offence = of(L, req.offence.category);
    let mut out = Vec::new();
    for step in &d.steps {
        let (name, text, cites): (&'static str, String, Vec<String>) = match *step {
            Step::Bound { provision } => (
                "applicability",
                format!("les deux Parties sont liées par {basis} au {}", s.date),
                cites_of(provision),
            ),
            Step::NotBound {
                party,
                requesting,
                provision,
                alternative,
            } => {
                let mut text = format!(
                    "{party}, Partie {}, n’est pas liée par {basis} au {}",
                    if requesting { "requérante" } else { "requise" },
                    s.date
                );
                if let Some(alt) = alternative {
                    let _ = write!(
                        text,
                        " ; les deux Parties sont liées par {alt}, qu’une demande pourrait invoquer à la place"
                    );
                }
                ("applicability", text, cites_of(provision))
            }
            Step::NoRules => (
                "applicability",
                format!("aucun fichier de règles ne couvre {basis}"),
                Vec::new(),
            ),
            Step::Kind { provision, via } => {
                let text = match via {
                    None => format!(
                        "{basis} prévoit les demandes de type « {kind} »{}",
                        quoted(provision)
                    ),
                    Some(p) => format!(
                        "{basis} ne prévoit pas lui-même les demandes de type « {kind} » ; {p}, un protocole qui lie les deux Parties, les prévoit{}{}",
                        if provision.verified {
                            ""
                        } else {
                            " (règle non vérifiée sur le texte officiel)"
                        },
                        quoted(provision)
                    ),
                };
                ("kind", text, cites_of(provision))
            }
            Step::KindNotProvided {
                provision,
                protocol,
            } => {
                let mut text = format!(
                    "{basis} ne prévoit pas les demandes de type « {kind} »{}",
                    quoted(provision)
                );
                let mut cites = cites_of(provision);
                if let Some((p, prov)) = protocol {
                    let _ = write!(
                        text,
                        " ; {p} les prévoit, mais seulement entre ses Parties, et les deux Parties n’y sont pas liées"
                    );
                    cites.extend(cites_of(prov));
                }
                ("kind", text, cites)
            }
            Step::Emergency { present, provision } => (
                "emergency",
                if present {
                    format!("les faits établissent une urgence{}", quoted(provision))
                } else {
                    format!(
                        "les demandes de type « {kind} » n’existent que pour parer à une urgence, et les faits n’en établissent pas{}",
                        quoted(provision)
                    )
                },
                cites_of(provision),
            ),
            Step::OffenceListed {
                cite,
                name,
                provision,
            } => {
                let mut cites = vec![cite.to_string()];
                cites.extend(cites_of(provision));
                (
                    "scope",
                    format!(
                        "« {offence} » est une infraction établie par l’instrument ({cite} ; « {name} »), dans le champ des demandes de type « {kind} »{}",
                        quoted(provision)
                    ),
                    cites,
                )
            }
            Step::OffenceUnlisted { provision } => (
                "scope",
                format!(
                    "« {offence} » n’est pas une infraction établie par l’instrument, mais le champ couvre toute infraction pénale{}",
                    quoted(provision)
                ),
                cites_of(provision),
            ),
            Step::OffenceOutOfScope { name, provision } => (
                "scope",
                format!(
                    "« {offence} » n’est pas une infraction de la catégorie « {name} », et les demandes de type « {kind} » ne couvrent que celles-ci{}",
                    quoted(provision)
                ),
                cites_of(provision),
            ),
            Step::ProtocolOffenceOutside {
                protocol,
                cite,
                provision,
            } => {
                let mut cites = vec![cite.to_string()];
                cites.extend(cites_of(provision));
                (
                    "scope",
                    format!(
                        "« {offence} » est une infraction au sens de {protocol} ({cite}), qui n’entre dans la coopération au titre de {basis} qu’entre Parties à {protocol}, et les deux Parties n’y sont pas liées{}",
                        quoted(provision)
                    ),
                    cites,
                )
            }
            Step::SeriousCrime {
                met,
                min_years,
                provision,
            } => {
                let y = years(req.offence.max_penalty_years.as_years());
                let min = years(min_years);
                let text = if met {
                    format!(
                        "« {offence} » n’est pas une infraction établie par la Convention mais une infraction grave : la peine maximale encourue dans la Partie {} est de {y} ans, au moins {min}{}",
                        req.from,
                        quoted(provision)
                    )
                } else {
                    format!(
                        "« {offence} » n’est ni une infraction établie par la Convention ni une infraction grave : la peine maximale encourue dans la Partie {} est de {y} ans, moins de {min}{}",
                        req.from,
                        quoted(provision)
                    )
                };
                ("scope", text, cites_of(provision))
            }
            Step::PunishableBoth {
                met,
                min_years,
                provision,
            } => {
                let (a, b) = (
                    years(req.offence.max_penalty_years.as_years()),
                    years(req.offence.max_penalty_years_requested.as_years()),
                );
                let threshold = if min_years > 0.0 {
                    format!(
                        " d’une peine maximale d’au moins {} an(s)",
                        years(min_years)
                    )
                } else {
                    String::new()
                };
                let text = if met {
                    format!(
                        "les faits sont punissables dans les deux Parties{threshold} ({} : {a}, {} : {b} ans){}",
                        req.from,
                        req.to,
                        quoted(provision)
                    )
                } else {
                    format!(
                        "les faits ne sont pas punissables dans les deux Parties{threshold} ({} : {a}, {} : {b} ans) : la demande sort du champ de l’article{}",
                        req.from,
                        req.to,
                        quoted(provision)
                    )
                };
                ("scope", text, cites_of(provision))
            }
            Step::MlaTreaty { present, provision } => (
                "mla_treaty",
                if present {
                    format!(
                        "un traité d’entraide lie les Parties : ses dispositions correspondantes s’appliquent à la place de celles de l’instrument{}",
                        quoted(provision)
                    )
                } else {
                    format!(
                        "aucun traité d’entraide ne lie les Parties : les dispositions d’entraide de l’instrument s’appliquent{}",
                        quoted(provision)
                    )
                },
                cites_of(provision),
            ),
            Step::Contents { missing, checked } => {
                let mut cites = Vec::new();
                for m in &d.missing {
                    cites.extend(m.support.cites().iter().map(ToString::to_string));
                }
                let text = if checked == 0 {
                    format!(
                        "{basis} n’exige aucun élément pour les demandes de type « {kind} » dans ce cas"
                    )
                } else if missing == 0 {
                    format!("la demande fournit les {checked} éléments requis")
                } else {
                    let names: Vec<&str> = d.missing.iter().map(|m| of(L, m.content)).collect();
                    format!(
                        "il manque à la demande {missing} des {checked} éléments requis : {}",
                        names.join(" ; ")
                    )
                };
                ("contents", text, cites)
            }
            Step::Ground {
                ground,
                status,
                provision,
            } => (
                "ground",
                format!(
                    "« {} » : {}{}",
                    of(L, ground),
                    of::<GroundStatus>(L, status),
                    quoted(provision)
                ),
                cites_of(provision),
            ),
            Step::Outcome => (
                "outcome",
                format!(
                    "{} : {}",
                    of(L, d.outcome),
                    lookup(L, "outcome_words", d.outcome.code()).unwrap_or_default()
                ),
                Vec::new(),
            ),
        };
        out.push(Explained {
            step: name,
            text,
            cites,
        });
    }
    if d.not_applicable.is_some() {
        out.push(Explained {
            step: "outcome",
            text: format!(
                "{} : {}",
                of(L, d.outcome),
                lookup(L, "outcome_words", d.outcome.code()).unwrap_or_default()
            ),
            cites: Vec::new(),
        });
    }
    for x in &d.deadlines {
        out.push(Explained {
            step: "deadline",
            text: format!(
                "{} : jusqu’au {} ({} jours calendaires à compter du {}){}",
                lookup(L, "deadline", x.name).unwrap_or(x.name),
                x.until,
                x.days,
                s.date,
                quoted(x.provision)
            ),
            cites: cites_of(x.provision),
        });
    }
    for x in &d.duties {
        out.push(Explained {
            step: "duty",
            text: format!("{}{}", of(L, x.duty), quoted(x.support.first)),
            cites: x.support.cites().iter().map(ToString::to_string).collect(),
        });
    }
    for r in &d.reviews {
        let (text, cites) = match r {
            Review::ProtectedRole { role, support } => (
                format!(
                    "la personne concernée est {} : une personne doit examiner la demande avant toute exécution",
                    of(L, *role)
                ),
                support.cites().iter().map(ToString::to_string).collect(),
            ),
            Review::AuthorisedTesting { provision } => (
                "les faits peuvent relever de tests autorisés ou de la protection d’un système : une personne doit examiner la demande avant toute exécution".to_owned(),
                cites_of(provision),
            ),
        };
        out.push(Explained {
            step: "review",
            text,
            cites,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use comity_types::{
        Content, DataCategory, Disposition, Duty, Ground, OffenceCategory, Outcome, ProtectedRole,
        RequestKind,
    };

    fn every<T: Code>(missing: &mut Vec<String>) {
        for v in T::ALL {
            for lang in ["en", "fr"] {
                match lookup(lang, T::WHAT, v.code()) {
                    Some(w) if !w.trim().is_empty() => {}
                    _ => missing.push(format!("{lang}: {} `{}`", T::WHAT, v.code())),
                }
            }
        }
    }

    #[test]
    fn every_code_the_engine_can_emit_has_english_and_french_words() {
        let mut missing = Vec::new();
        every::<Ground>(&mut missing);
        every::<Content>(&mut missing);
        every::<Duty>(&mut missing);
        every::<Outcome>(&mut missing);
        every::<GroundStatus>(&mut missing);
        every::<RequestKind>(&mut missing);
        every::<DataCategory>(&mut missing);
        every::<OffenceCategory>(&mut missing);
        every::<Disposition>(&mut missing);
        every::<ProtectedRole>(&mut missing);
        for o in Outcome::ALL {
            for lang in ["en", "fr"] {
                if lookup(lang, "outcome_words", o.code()).is_none() {
                    missing.push(format!("{lang}: outcome_words `{}`", o.code()));
                }
            }
        }
        for step in [
            "applicability",
            "kind",
            "emergency",
            "scope",
            "mla_treaty",
            "contents",
            "ground",
            "outcome",
            "deadline",
            "duty",
            "review",
        ] {
            if lookup("fr", "step", step).is_none() {
                missing.push(format!("step `{step}`"));
            }
        }
        assert!(missing.is_empty(), "no words for: {missing:#?}");
    }

    #[test]
    fn no_entry_is_listed_twice_and_french_differs_where_words_are_translated() {
        for (i, (v, c, en, fr)) in WORDS.iter().enumerate() {
            assert!(
                !WORDS
                    .iter()
                    .skip(i + 1)
                    .any(|(v2, c2, _, _)| v2 == v && c2 == c),
                "{v} `{c}` twice"
            );
            assert!(!en.is_empty() && !fr.is_empty(), "{v} `{c}`");
        }
    }

    #[test]
    fn every_deadline_the_rule_files_name_has_words() {
        // Deadline names are the rule files' own: every `name` of a deadline table.
        for text in [
            include_str!("../../rules/treaties/uncc.toml"),
            include_str!("../../rules/treaties/bud.toml"),
            include_str!("../../rules/treaties/ap1.toml"),
            include_str!("../../rules/treaties/sap2.toml"),
        ] {
            let mut in_deadlines = false;
            for line in text.lines() {
                let l = line.trim();
                if l.starts_with('[') {
                    in_deadlines = l.ends_with(".deadlines]]");
                }
                if in_deadlines && let Some(rest) = l.strip_prefix("name = \"") {
                    let name = rest.trim_end_matches('"');
                    assert!(
                        lookup("fr", "deadline", name).is_some(),
                        "deadline `{name}` has no words"
                    );
                }
            }
        }
    }
}
