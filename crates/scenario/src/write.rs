//! Scenarios back to text: the `comity.scenario/1` document of a [`Scenario`], so that nodes
//! can keep and send the facts in the public format.

use comity_types::{Code, Scenario, Set};
use std::fmt::Write as _;

fn quoted(s: &str) -> String {
    // A TOML basic string: the JSON escaping of a string is valid TOML.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

fn list<T: Code>(set: Set<T>) -> String {
    let items: Vec<String> = set.iter().map(|v| quoted(v.code())).collect();
    format!("[{}]", items.join(", "))
}

fn years(y: f64) -> String {
    if y.fract() == 0.0 {
        format!("{y:.0}")
    } else {
        format!("{y}")
    }
}

/// The scenario as a `comity.scenario/1` document (without expectations). Parsing the result
/// gives the same scenario back.
pub fn to_toml(s: &Scenario) -> String {
    let mut o = String::new();
    let r = &s.request;
    let _ = writeln!(o, "format = \"{}\"", crate::SCENARIO_FORMAT);
    let _ = writeln!(o, "id = {}", quoted(&s.id));
    let _ = writeln!(o, "title = {}", quoted(&s.title));
    let _ = writeln!(o, "date = \"{}\"", s.date);
    for p in &s.parties {
        let _ = writeln!(o, "\n[parties.{}]", p.code);
        let _ = writeln!(o, "name = {}", quoted(&p.name));
        let _ = writeln!(o, "instruments = {}", list(p.instruments));
        let res: Vec<String> = p
            .reservations
            .iter()
            .map(|c| quoted(&c.to_string()))
            .collect();
        let _ = writeln!(o, "reservations = [{}]", res.join(", "));
        let _ = writeln!(o, "refuse_on = {}", list(p.refuse_on));
    }
    let _ = writeln!(o, "\n[request]");
    let _ = writeln!(o, "from = \"{}\"", r.from);
    let _ = writeln!(o, "to = \"{}\"", r.to);
    let _ = writeln!(o, "basis = \"{}\"", r.basis);
    let _ = writeln!(o, "kind = \"{}\"", r.kind);
    let _ = writeln!(o, "data = {}", list(r.data));
    let _ = writeln!(o, "mla_treaty = {}", r.mla_treaty);
    let _ = writeln!(o, "emergency = {}", r.emergency);
    let _ = writeln!(o, "supplied = {}", list(r.supplied));
    let _ = writeln!(o, "\n[request.offence]");
    let _ = writeln!(o, "category = \"{}\"", r.offence.category);
    let _ = writeln!(
        o,
        "max_penalty_years = {}",
        years(r.offence.max_penalty_years.as_years())
    );
    let _ = writeln!(
        o,
        "max_penalty_years_requested = {}",
        years(r.offence.max_penalty_years_requested.as_years())
    );
    let f = &r.facts;
    let _ = writeln!(o, "\n[request.facts]");
    for (name, v) in [
        ("political_offence", f.political_offence),
        ("persecution", f.persecution),
        ("essential_interests", f.essential_interests),
        ("domestic_prohibition", f.domestic_prohibition),
        ("fiscal_only", f.fiscal_only),
        ("bank_secrecy", f.bank_secrecy),
        ("own_national", f.own_national),
    ] {
        let _ = writeln!(o, "{name} = {v}");
    }
    let _ = writeln!(o, "protected_roles = {}", list(f.protected_roles));
    let _ = writeln!(o, "authorised_testing = {}", f.authorised_testing);
    o
}
