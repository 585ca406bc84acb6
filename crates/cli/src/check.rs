//! `comity check`: decide scenario files, print decisions, or verify expectations.

use crate::{EXIT_BAD_INPUT, EXIT_FAILED, diag, rules_cmd};
use comity_rules::RuleSet;
use comity_rules::render::{self, Style};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Scenario files (with `--verify`: files or directories, searched for `*.toml`).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Print the decision as JSON (format `comity.decision/1`).
    #[arg(long, conflicts_with = "verify")]
    json: bool,
    /// Evaluate every scenario with an `[expect]` table under PATHS; print one line per
    /// mismatch and exit 1 if any.
    #[arg(long)]
    verify: bool,
    /// Use the rule files in DIR instead of the built-in rules.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// Colour: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = ["auto", "always", "never"])]
    color: String,
}

/// Reads and parses one scenario file; prints the error and returns None when it is bad.
fn load(path: &Path) -> Option<comity_scenario::ScenarioFile> {
    let name = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {name}: cannot read: {e}");
            return None;
        }
    };
    match comity_scenario::parse(&name, &text) {
        Ok(f) => Some(f),
        Err(e) => {
            diag::scenario_error(&e, &text);
            None
        }
    }
}

fn toml_files(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for p in entries {
            if p.is_dir() || p.extension().is_some_and(|e| e == "toml") {
                toml_files(&p, out)?;
            }
        }
    } else {
        out.push(path.to_owned());
    }
    Ok(())
}

pub fn run(args: CheckArgs) -> ExitCode {
    let rules = match rules_cmd::load_rules(args.rules.as_deref()) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if args.verify {
        return verify(rules, &args.paths);
    }
    let colour = match args.color.as_str() {
        "always" => true,
        "never" => false,
        _ => std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal(),
    };
    let style = if colour { Style::ANSI } else { Style::PLAIN };
    let mut bad_input = false;
    let mut json = Vec::new();
    let mut stdout = std::io::stdout().lock();
    for (i, path) in args.paths.iter().enumerate() {
        let Some(file) = load(path) else {
            bad_input = true;
            continue;
        };
        let decision = rules.decide(&file.scenario);
        if args.json {
            json.push(render::to_json(&decision, &file.scenario, rules));
        } else {
            if i > 0 {
                let _ = writeln!(stdout);
            }
            let _ = write!(
                stdout,
                "{}",
                render::to_text(&decision, &file.scenario, rules, style)
            );
        }
    }
    if args.json && !json.is_empty() {
        let value = if json.len() == 1 {
            json.pop().unwrap_or_default()
        } else {
            serde_json::Value::Array(json)
        };
        match serde_json::to_string_pretty(&value) {
            Ok(text) => {
                let _ = writeln!(stdout, "{text}");
            }
            Err(e) => {
                eprintln!("error: cannot write JSON: {e}");
                return ExitCode::from(EXIT_FAILED);
            }
        }
    }
    if bad_input {
        ExitCode::from(EXIT_BAD_INPUT)
    } else {
        ExitCode::SUCCESS
    }
}

fn verify(rules: &RuleSet, paths: &[PathBuf]) -> ExitCode {
    let mut files = Vec::new();
    for p in paths {
        if let Err(e) = toml_files(p, &mut files) {
            eprintln!("error: {}: cannot read: {e}", p.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    let (mut checked, mut mismatched, mut bad) = (0usize, 0usize, 0usize);
    let mut stdout = std::io::stdout().lock();
    for path in &files {
        let Some(file) = load(path) else {
            bad += 1;
            continue;
        };
        let Some(expect) = &file.expect else { continue };
        checked += 1;
        let decision = rules.decide(&file.scenario);
        let mismatches = expect.check(&decision);
        if !mismatches.is_empty() {
            mismatched += 1;
        }
        for m in mismatches {
            let _ = writeln!(stdout, "{}: {}: {m}", path.display(), file.scenario.id);
        }
    }
    // stdout holds only the mismatch lines; the tally goes to stderr.
    eprintln!(
        "verify: {} passed, {mismatched} failed{}",
        checked - mismatched,
        if bad > 0 {
            format!(", {bad} not readable")
        } else {
            String::new()
        }
    );
    if bad > 0 {
        ExitCode::from(EXIT_BAD_INPUT)
    } else if mismatched > 0 || checked == 0 {
        if checked == 0 {
            eprintln!("error: no scenario with an [expect] table under the given paths");
        }
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}
