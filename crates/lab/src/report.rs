//! A [`Summary`] rendered: `summary.json`, `differences.csv`, a self-contained `report.html`
//! (inline SVG charts, no script), example scenario files, and plain text for the terminal.
//!
//! Every renderer is a pure function of the summary (and, for examples, of the scenarios the
//! summary names): no timing, time stamp, thread count or host name goes into any of them, so
//! the same run gives the same bytes.

use crate::{Comparison, Group, InstrumentSummary, Lab, LabError, Source, SourceInfo, Summary};
use crate::{WhatIf, join_cites};
use comity_types::{Code, GroundStatus, Instrument, Outcome, RequestKind};
use serde_json::{Map, Value, json};
use std::fmt::Write as _;

/// The format of `summary.json`.
pub const SUMMARY_FORMAT: &str = "comity.lab/1";

/// `count / total`, rounded to six decimals (0 when there is no total).
pub fn share(count: u64, total: u64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    ((count as f64 / total as f64) * 1e6).round() / 1e6
}

fn percent(count: u64, total: u64) -> String {
    format!("{:.2}%", share(count, total) * 100.0)
}

fn lower(i: Instrument) -> String {
    i.code().to_ascii_lowercase()
}

/// The example files of a group, one per side, relative to the output directory.
pub fn example_files(c: &Comparison, g: &Group) -> [String; 2] {
    let [a, b] = c.sides;
    let stem = format!("examples/{}-{}-g{:03}", lower(a), lower(b), g.id);
    [
        format!("{stem}-{}.toml", lower(a)),
        format!("{stem}-{}.toml", lower(b)),
    ]
}

fn source_json(s: &SourceInfo) -> Value {
    match s {
        SourceInfo::Generated { seed, count } => {
            json!({"generated": {"seed": seed, "count": count, "generator": "comity.lab/generator/1 (ChaCha8, key from the seed, stream = index)"}})
        }
        SourceInfo::Corpus { name, count } => json!({"corpus": {"name": name, "count": count}}),
    }
}

fn rule_json(r: &crate::RuleRef) -> Value {
    json!({
        "cites": r.cites.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "rule": format!("{}:{}", r.file, r.line),
        "verified": r.verified,
    })
}

fn outcomes_json(counts: &[u64]) -> Value {
    let mut m = Map::new();
    for (o, n) in Outcome::ALL.iter().zip(counts) {
        m.insert(o.code().to_owned(), json!(n));
    }
    Value::Object(m)
}

fn instrument_json(p: &InstrumentSummary, decisions_each: u64) -> Value {
    let mut by_kind = Map::new();
    for (k, row) in RequestKind::ALL.iter().zip(&p.by_kind) {
        by_kind.insert(k.code().to_owned(), outcomes_json(row));
    }
    let row = |kind: RequestKind, ground, status: GroundStatus, r: &crate::RuleRef, n: u64| {
        let mut v = rule_json(r);
        if let Value::Object(m) = &mut v {
            m.insert("kind".into(), json!(kind));
            m.insert("ground".into(), json!(ground));
            m.insert("status".into(), json!(status));
            m.insert("count".into(), json!(n));
        }
        v
    };
    let grounds: Vec<Value> = p
        .grounds
        .iter()
        .map(|g| row(g.kind, g.ground, g.status, &g.rule, g.count))
        .collect();
    let domestic: Vec<Value> = p
        .grounds
        .iter()
        .filter(|g| matches!(g.status, GroundStatus::NotProvided | GroundStatus::Deferred))
        .map(|g| row(g.kind, g.ground, g.status, &g.rule, g.count))
        .collect();
    let conflicts: Vec<Value> = p
        .conflicts
        .iter()
        .map(|g| row(g.kind, g.ground, g.status, &g.rule, g.count))
        .collect();
    json!({
        "instrument": p.instrument,
        "outcomes": outcomes_json(&p.outcomes),
        "by_kind": by_kind,
        "grounds": grounds,
        "left_to_domestic_law": domestic,
        "refuse_on": {
            "decisions_with_policy": p.with_policy,
            "decisions_with_conflict": p.with_conflict,
            "share_of_policy_decisions": share(p.with_conflict, p.with_policy),
            "conflicts": conflicts,
        },
        "review_required": p.review_required,
        "review_required_share": share(p.review_required, decisions_each),
        "unverified_rules_relied_on": p.unverified.iter().map(|(r, n)| {
            let mut v = rule_json(r);
            if let Value::Object(m) = &mut v { m.insert("decisions".into(), json!(n)); }
            v
        }).collect::<Vec<_>>(),
    })
}

fn group_json(c: &Comparison, g: &Group, total: u64) -> Value {
    let [a, b] = c.sides;
    let [oa, ob] = g.outcomes;
    let [ca, cb] = &g.cites;
    let strings =
        |v: &[comity_types::Citation]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    json!({
        "group": g.id,
        "kind": g.kind,
        "outcomes": {a.code(): oa, b.code(): ob},
        "cause": g.cause,
        "grounds": g.grounds,
        "label": g.label,
        "cites": {a.code(): strings(ca), b.code(): strings(cb)},
        "rules": g.rules.iter().map(rule_json).collect::<Vec<_>>(),
        "unverified": g.unverified,
        "count": g.count,
        "share": share(g.count, total),
        "example": {"index": g.example, "files": example_files(c, g)},
    })
}

/// `summary.json`: everything counted, pretty-printed, with a final newline.
pub fn summary_json(s: &Summary) -> Result<String, LabError> {
    let comparisons: Vec<Value> = s
        .comparisons
        .iter()
        .map(|c| {
            json!({
                "sides": c.sides,
                "scenarios": s.scenarios,
                "differing": c.differing,
                "share": share(c.differing, s.scenarios),
                "groups": c.groups.iter().map(|g| group_json(c, g, s.scenarios)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let v = json!({
        "format": SUMMARY_FORMAT,
        "instruments": s.instruments,
        "source": source_json(&s.source),
        "scenarios": s.scenarios,
        "decisions": s.decisions,
        "per_instrument": s.per.iter().map(|p| instrument_json(p, s.scenarios)).collect::<Vec<_>>(),
        "comparisons": comparisons,
    });
    serde_json::to_string_pretty(&v)
        .map(|t| t + "\n")
        .map_err(|e| LabError::Internal(e.to_string()))
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// `differences.csv`: one row per group of every comparison.
pub fn differences_csv(s: &Summary) -> String {
    let mut out = String::from(
        "left,right,group,kind,left_outcome,right_outcome,cause,grounds,difference,left_cites,right_cites,rules,unverified,count,share,example_index,example_left,example_right\n",
    );
    for c in &s.comparisons {
        let [a, b] = c.sides;
        for g in &c.groups {
            let [oa, ob] = g.outcomes;
            let [ca, cb] = &g.cites;
            let [fa, fb] = example_files(c, g);
            let grounds: Vec<&str> = g.grounds.iter().map(|x| x.code()).collect();
            let rules: Vec<String> = g
                .rules
                .iter()
                .map(|r| format!("{}:{}", r.file, r.line))
                .collect();
            let row = [
                a.code().to_owned(),
                b.code().to_owned(),
                g.id.to_string(),
                g.kind.code().to_owned(),
                oa.code().to_owned(),
                ob.code().to_owned(),
                g.cause.to_owned(),
                grounds.join(";"),
                g.label.clone(),
                join_cites(ca).replace(", ", ";"),
                join_cites(cb).replace(", ", ";"),
                rules.join(";"),
                g.unverified.to_string(),
                g.count.to_string(),
                format!("{:.6}", share(g.count, s.scenarios)),
                g.example.to_string(),
                fa,
                fb,
            ];
            let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
            out.push_str(&fields.join(","));
            out.push('\n');
        }
    }
    out
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// The example scenario files of every group: (path relative to the output directory, text).
/// Each is the group's lowest-index scenario invoking one side's instrument, with an
/// `[expect]` table of its decision (outcome, missing contents, grounds, and the group's
/// citations for that side) so that `comity check --verify` reproduces it. Fails if a
/// scenario does not decide as its group says, which would mean the lab is wrong.
pub fn examples(
    lab: &Lab<'_>,
    s: &Summary,
    source: &Source<'_>,
) -> Result<Vec<(String, String)>, LabError> {
    let mut out = Vec::new();
    for c in &s.comparisons {
        for g in &c.groups {
            let scenario = source.scenario(g.example).ok_or_else(|| {
                LabError::Internal(format!(
                    "example scenario {} is not in the source",
                    g.example
                ))
            })?;
            let files = example_files(c, g);
            for (((inst, outcome), cites), file) in
                c.sides.iter().zip(g.outcomes).zip(&g.cites).zip(files)
            {
                let mut sc = scenario.clone();
                sc.request.basis = *inst;
                let [a, b] = c.sides;
                sc.id = format!(
                    "lab-{}-{}-g{:03}-{}",
                    lower(a),
                    lower(b),
                    g.id,
                    lower(*inst)
                );
                sc.title = format!(
                    "Policy lab example of group {} ({} of scenario {}): {}",
                    g.id, inst, g.example, g.label
                );
                let d = lab.rules().decide(&sc);
                if d.outcome != outcome {
                    return Err(LabError::Internal(format!(
                        "example of group {} decides {} under {inst}, not {outcome}",
                        g.id, d.outcome
                    )));
                }
                let mut text = comity_scenario::to_toml(&sc);
                let _ = writeln!(text, "\n[expect]");
                let _ = writeln!(text, "outcome = \"{}\"", d.outcome);
                let missing: Vec<String> =
                    d.missing.iter().map(|m| quoted(m.content.code())).collect();
                let _ = writeln!(text, "missing = [{}]", missing.join(", "));
                let grounds: Vec<String> = d
                    .grounds
                    .iter()
                    .map(|x| format!("{} = \"{}\"", x.ground, x.status))
                    .collect();
                let _ = writeln!(text, "grounds = {{ {} }}", grounds.join(", "));
                let cites: Vec<String> = cites.iter().map(|c| quoted(&c.to_string())).collect();
                let _ = writeln!(text, "cites = [{}]", cites.join(", "));
                out.push((file, text));
            }
        }
    }
    Ok(out)
}

/// HTML escaping of text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn source_text(s: &SourceInfo) -> String {
    match s {
        SourceInfo::Generated { seed, count } => {
            format!("{count} scenarios generated from seed {seed}")
        }
        SourceInfo::Corpus { name, count } => format!("{count} scenarios of the corpus {name}"),
    }
}

fn rule_html(r: &crate::RuleRef) -> String {
    let flag = if r.verified {
        String::new()
    } else {
        " <span class=\"unverified\">unverified</span>".to_owned()
    };
    format!(
        "{} <span class=\"src\">{}:{}</span>{flag}",
        escape(&r.cites_text()),
        escape(&r.file),
        r.line
    )
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em auto;max-width:1100px;color:#1b1b1b;line-height:1.4}\
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:1em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}\
th{background:#eef2f7}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.src{color:#666;font-size:.85em}.unverified{background:#ffe7a8;padding:0 .3em;border-radius:3px;font-size:.85em}\
.charts{display:flex;flex-wrap:wrap;gap:1em}.charts svg{max-width:100%;height:auto;border:1px solid #eee}\
.note{color:#444}";

/// `report.html`: the whole report in one file (styles and SVG charts inline, no script).
pub fn report_html(s: &Summary) -> Result<String, LabError> {
    let names: Vec<&str> = s.instruments.iter().map(|i| i.code()).collect();
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Comity policy lab: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&names.join(" / "))
    );
    let _ = writeln!(
        h,
        "<h1>Comity policy lab: {}</h1>",
        escape(&names.join(" compared with "))
    );
    let _ = writeln!(
        h,
        "<p>{} decided under each of {} with the treaty engine of <code>comity check</code>: {} decisions. \
         Every citation below comes from the rule files; rules not yet checked against the official text are marked <span class=\"unverified\">unverified</span>. \
         Each difference group has an example scenario file that <code>comity check --verify examples</code> reproduces.</p>",
        escape(&source_text(&s.source)),
        escape(&names.join(", ")),
        s.decisions
    );

    // Outcomes.
    let _ = writeln!(h, "<h2>Outcomes</h2>\n<div class=\"charts\">");
    for p in &s.per {
        let series: Vec<(String, u64)> = Outcome::ALL
            .iter()
            .zip(&p.outcomes)
            .map(|(o, n)| (o.code().to_owned(), *n))
            .collect();
        h.push_str(&comity_charts::horizontal_bars(
            &format!("Outcomes under {}", p.instrument),
            &series,
        )?);
    }
    let _ = writeln!(h, "</div>\n<table><tr><th>kind</th><th>invoking</th>");
    for o in Outcome::ALL {
        let _ = write!(h, "<th>{o}</th>");
    }
    h.push_str("</tr>\n");
    for (k, kind) in RequestKind::ALL.iter().enumerate() {
        for p in &s.per {
            let _ = write!(h, "<tr><td>{kind}</td><td>{}</td>", p.instrument);
            for n in p.by_kind.get(k).into_iter().flatten() {
                let _ = write!(h, "<td class=\"n\">{n}</td>");
            }
            h.push_str("</tr>\n");
        }
    }
    h.push_str("</table>\n");

    // Differences.
    for c in &s.comparisons {
        let [a, b] = c.sides;
        let _ = writeln!(
            h,
            "<h2>Where {a} and {b} differ</h2>\n<p>The outcome differs in {} of {} scenarios ({}), in {} groups, each named by the rules that make the difference; \
             the example is the group's lowest-numbered scenario.</p>",
            c.differing,
            s.scenarios,
            percent(c.differing, s.scenarios),
            c.groups.len()
        );
        let series: Vec<(String, u64)> = c
            .groups
            .iter()
            .take(15)
            .map(|g| {
                let what = if g.grounds.is_empty() {
                    g.cause.to_owned()
                } else {
                    g.grounds
                        .iter()
                        .map(|x| x.code())
                        .collect::<Vec<_>>()
                        .join("+")
                };
                (format!("#{} {} {}", g.id, g.kind, what), g.count)
            })
            .collect();
        h.push_str("<div class=\"charts\">");
        h.push_str(&comity_charts::horizontal_bars(
            &format!("Largest difference groups, {a} / {b}"),
            &series,
        )?);
        h.push_str("</div>\n");
        let _ = writeln!(
            h,
            "<table><tr><th>#</th><th>kind</th><th>{a}</th><th>{b}</th><th>what makes the difference</th><th>rules</th><th>count</th><th>share</th><th>example</th></tr>"
        );
        for g in &c.groups {
            let [oa, ob] = g.outcomes;
            let [fa, fb] = example_files(c, g);
            let detail = g
                .label
                .split_once(" — ")
                .map_or(g.label.as_str(), |(_, d)| d);
            let rules: Vec<String> = g.rules.iter().map(rule_html).collect();
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{oa}</td><td>{ob}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td><a href=\"{}\">{a}</a> <a href=\"{}\">{b}</a> <span class=\"src\">#{}</span></td></tr>",
                g.id,
                g.kind,
                escape(detail),
                rules.join("<br>"),
                g.count,
                percent(g.count, s.scenarios),
                escape(&fa),
                escape(&fb),
                g.example
            );
        }
        h.push_str("</table>\n");
    }

    // What each instrument lets a Party refuse.
    let _ = writeln!(
        h,
        "<h2>What can still be refused</h2>\n<p>For each kind of request and each ground the facts raised: the status each instrument gives it, the rule, and how many decisions.</p>\n<div class=\"charts\">"
    );
    for p in &s.per {
        let series: Vec<(String, u64)> = comity_types::Ground::ALL
            .iter()
            .map(|g| {
                let n = p
                    .grounds
                    .iter()
                    .filter(|r| r.ground == *g && r.status == GroundStatus::Available)
                    .map(|r| r.count)
                    .sum();
                (g.code().to_owned(), n)
            })
            .collect();
        h.push_str(&comity_charts::horizontal_bars(
            &format!("Decisions with the ground available, {}", p.instrument),
            &series,
        )?);
    }
    h.push_str("</div>\n<table><tr><th>kind</th><th>ground</th>");
    for p in &s.per {
        let _ = write!(h, "<th>{}</th>", p.instrument);
    }
    h.push_str("</tr>\n");
    for kind in RequestKind::ALL {
        for ground in comity_types::Ground::ALL {
            let cells: Vec<String> = s
                .per
                .iter()
                .map(|p| {
                    p.grounds
                        .iter()
                        .filter(|r| r.kind == *kind && r.ground == *ground)
                        .map(|r| {
                            format!("<b>{}</b> {} ({})", r.status, rule_html(&r.rule), r.count)
                        })
                        .collect::<Vec<_>>()
                        .join("<br>")
                })
                .collect();
            if cells.iter().all(String::is_empty) {
                continue;
            }
            let _ = write!(h, "<tr><td>{kind}</td><td>{ground}</td>");
            for c in cells {
                let _ = write!(h, "<td>{c}</td>");
            }
            h.push_str("</tr>\n");
        }
    }
    h.push_str("</table>\n");

    // Left to domestic law.
    let _ = writeln!(
        h,
        "<h2>Safeguards left to domestic law</h2>\n<p><b>not_provided</b>: the instrument neither lists nor forbids the ground, so domestic law decides. \
         <b>deferred</b>: an MLA treaty between the Parties governs it.</p>"
    );
    for p in &s.per {
        let rows: Vec<&crate::GroundRow> = p
            .grounds
            .iter()
            .filter(|g| matches!(g.status, GroundStatus::NotProvided | GroundStatus::Deferred))
            .collect();
        let _ = writeln!(
            h,
            "<h3>{}</h3>\n<table><tr><th>kind</th><th>ground</th><th>status</th><th>rule</th><th>decisions</th></tr>",
            p.instrument
        );
        for g in rows {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                g.kind,
                g.ground,
                g.status,
                rule_html(&g.rule),
                g.count
            );
        }
        h.push_str("</table>\n");
    }

    // refuse_on policies.
    let _ = writeln!(
        h,
        "<h2>Refusal policies against the instruments</h2>\n<p>A requested Party's <code>refuse_on</code> names grounds its own law makes it refuse on. \
         It conflicts with an instrument when it names a raised ground the instrument excludes, or one the instrument leaves to domestic law.</p>\n<div class=\"charts\">"
    );
    for p in &s.per {
        let series: Vec<(String, u64)> = comity_types::Ground::ALL
            .iter()
            .map(|g| {
                let n = p
                    .conflicts
                    .iter()
                    .filter(|r| r.ground == *g)
                    .map(|r| r.count)
                    .sum();
                (g.code().to_owned(), n)
            })
            .collect();
        h.push_str(&comity_charts::horizontal_bars(
            &format!("refuse_on conflicts by ground, {}", p.instrument),
            &series,
        )?);
    }
    h.push_str("</div>\n");
    for p in &s.per {
        let _ = writeln!(
            h,
            "<h3>{}</h3>\n<p>{} decisions had a requested Party with a policy; it conflicted with {} in {} of them ({}).</p>\n<table><tr><th>kind</th><th>ground</th><th>instrument says</th><th>rule</th><th>decisions</th></tr>",
            p.instrument,
            p.with_policy,
            p.instrument,
            p.with_conflict,
            percent(p.with_conflict, p.with_policy)
        );
        for g in &p.conflicts {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                g.kind,
                g.ground,
                g.status,
                rule_html(&g.rule),
                g.count
            );
        }
        h.push_str("</table>\n");
    }

    // Reviews and unverified rules.
    let _ = writeln!(
        h,
        "<h2>Reviews and unverified rules</h2>\n<table><tr><th>instrument</th><th>decisions needing a person's review</th><th>unverified rules relied on</th></tr>"
    );
    for p in &s.per {
        let unverified: Vec<String> = p
            .unverified
            .iter()
            .map(|(r, n)| format!("{} ({n} decisions)", rule_html(r)))
            .collect();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"n\">{} ({})</td><td>{}</td></tr>",
            p.instrument,
            p.review_required,
            percent(p.review_required, s.scenarios),
            if unverified.is_empty() {
                "none".to_owned()
            } else {
                unverified.join("<br>")
            }
        );
    }
    h.push_str("</table>\n<p class=\"note\">Generated by <code>comity lab run</code>; the same seed gives the same file, byte for byte.</p>\n</body>\n</html>\n");
    Ok(h)
}

/// The difference groups for the terminal (`comity lab diff`), the `top` largest of each
/// comparison.
pub fn diff_text(s: &Summary, top: usize) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{}: {} decisions", source_text(&s.source), s.decisions);
    for c in &s.comparisons {
        let [a, b] = c.sides;
        let _ = writeln!(
            o,
            "\n{a} / {b}: the outcome differs in {} of {} scenarios ({}), {} groups",
            c.differing,
            s.scenarios,
            percent(c.differing, s.scenarios),
            c.groups.len()
        );
        for g in c.groups.iter().take(top) {
            let flag = if g.unverified {
                " [unverified rule]"
            } else {
                ""
            };
            let _ = writeln!(
                o,
                "  #{:<3} {:>9} {:>8}  {}{flag}\n        example: scenario {}",
                g.id,
                g.count,
                percent(g.count, s.scenarios),
                g.label,
                g.example
            );
        }
        if c.groups.len() > top {
            let _ = writeln!(o, "  … {} more groups (--top)", c.groups.len() - top);
        }
    }
    o
}

/// A what-if for the terminal.
pub fn what_if_text(w: &WhatIf, top: usize) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "What if {}?", w.change);
    let _ = writeln!(
        o,
        "{}; the Party appears in {} of them.",
        source_text(&w.source),
        w.affected
    );
    for p in &w.per {
        let _ = writeln!(
            o,
            "\nUnder {}: {} of {} decisions change ({}).",
            p.instrument,
            p.changed,
            w.affected,
            percent(p.changed, w.affected)
        );
        for (before, row) in Outcome::ALL.iter().zip(&p.transitions) {
            for (after, n) in Outcome::ALL.iter().zip(row) {
                if before != after && *n > 0 {
                    let _ = writeln!(o, "  {before:>14} -> {after:<14} {n}");
                }
            }
        }
        for g in p.groups.iter().take(top) {
            let flag = if g.unverified {
                " [unverified rule]"
            } else {
                ""
            };
            let _ = writeln!(
                o,
                "  #{:<3} {:>9}  {}{flag}\n        example: scenario {}",
                g.id, g.count, g.label, g.example
            );
        }
        if p.groups.len() > top {
            let _ = writeln!(o, "  … {} more groups (--top)", p.groups.len() - top);
        }
    }
    o
}
