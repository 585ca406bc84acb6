//! `comity rules`: list, show and check the encoded treaty rules.

use crate::{EXIT_BAD_INPUT, EXIT_FAILED};
use comity_rules::{RuleSet, compile};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum RulesCommand {
    /// Every instrument, and each kind of request with the provision that provides it.
    List {
        /// Use the rule files in DIR instead of the built-in rules.
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        /// List every rule, not only the kinds.
        #[arg(long)]
        all: bool,
    },
    /// The rules that cite a provision, e.g. `comity rules show UNCC 42` or `UNCC 42(6)`.
    Show {
        /// Instrument and article, optionally with paragraph: `UNCC 42`, `BUD 29(5)`.
        #[arg(required = true, num_args = 1..=2)]
        provision: Vec<String>,
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
    /// Check rule files (the built-in ones, or those in DIR); exit 1 if any is invalid.
    Check {
        /// A directory of `*.toml` rule files.
        dir: Option<PathBuf>,
    },
}

fn read_dir_rules(dir: &Path) -> Result<Vec<(String, String)>, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: cannot read: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(format!("{}: no `*.toml` rule files", dir.display()));
    }
    paths
        .into_iter()
        .map(|p| {
            std::fs::read_to_string(&p)
                .map(|t| (p.display().to_string(), t))
                .map_err(|e| format!("{}: cannot read: {e}", p.display()))
        })
        .collect()
}

/// The built-in rules, or those in `dir`. Errors are printed; the exit code is returned.
pub fn load_rules(dir: Option<&Path>) -> Result<&'static RuleSet, ExitCode> {
    match dir {
        None => RuleSet::builtin().map_err(|e| {
            eprintln!("internal error: the built-in rules do not compile:\n{e}");
            ExitCode::from(EXIT_FAILED)
        }),
        Some(dir) => {
            let files = read_dir_rules(dir).map_err(|e| {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_BAD_INPUT)
            })?;
            match compile(&files) {
                // The CLI runs one command per process; the rule set lives until exit.
                Ok(rules) => Ok(Box::leak(Box::new(rules))),
                Err(errors) => {
                    for e in &errors.0 {
                        eprintln!("error: {e}");
                    }
                    Err(ExitCode::from(EXIT_BAD_INPUT))
                }
            }
        }
    }
}

pub fn run(cmd: RulesCommand) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match cmd {
        RulesCommand::List { rules, all } => {
            let rules = match load_rules(rules.as_deref()) {
                Ok(r) => r,
                Err(code) => return code,
            };
            for inst in rules.instruments() {
                let _ = writeln!(
                    out,
                    "{}  {}{}{}",
                    inst.instrument,
                    inst.title,
                    inst.protocol_to
                        .map_or(String::new(), |p| format!(" (protocol to {p})")),
                    if inst.verified {
                        ""
                    } else {
                        "  [NOT VERIFIED against the official text]"
                    }
                );
                for k in inst.kinds.iter().flatten() {
                    let cites: Vec<String> =
                        k.provision.cites.iter().map(ToString::to_string).collect();
                    let _ = writeln!(
                        out,
                        "  {:<22}{:<28}{}:{}",
                        k.kind.to_string(),
                        if k.provided {
                            cites.join(", ")
                        } else {
                            format!("not provided ({})", cites.join(", "))
                        },
                        rules.file_name(k.provision.origin),
                        k.provision.origin.line
                    );
                }
            }
            if all {
                let _ = writeln!(out);
                for l in rules.listing() {
                    print_rule(&mut out, rules, &l);
                }
            }
            ExitCode::SUCCESS
        }
        RulesCommand::Show { provision, rules } => {
            let rules = match load_rules(rules.as_deref()) {
                Ok(r) => r,
                Err(code) => return code,
            };
            let prefix = provision.join(" ");
            let ok_prefix = comity_types::Citation::parse(&prefix).is_ok();
            if !ok_prefix {
                eprintln!(
                    "error: `{prefix}` is not a provision: write e.g. `UNCC 42` or `BUD 29(5)`"
                );
                return ExitCode::from(EXIT_BAD_INPUT);
            }
            let found = rules.citing(&prefix);
            if found.is_empty() {
                let _ = writeln!(out, "no rule cites {prefix}");
                return ExitCode::from(EXIT_FAILED);
            }
            for l in found {
                print_rule(&mut out, rules, &l);
            }
            ExitCode::SUCCESS
        }
        RulesCommand::Check { dir } => {
            let files = match &dir {
                None => comity_rules::BUILTIN_FILES
                    .iter()
                    .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
                    .collect(),
                Some(dir) => match read_dir_rules(dir) {
                    Ok(f) => f,
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(EXIT_BAD_INPUT);
                    }
                },
            };
            match compile(&files) {
                Ok(rules) => {
                    let count = rules.listing().len();
                    let unverified = rules
                        .listing()
                        .iter()
                        .filter(|l| !l.provision.verified)
                        .count();
                    let _ = writeln!(
                        out,
                        "ok: {} files, {count} rules ({unverified} not verified against the official text)",
                        files.len()
                    );
                    ExitCode::SUCCESS
                }
                Err(errors) => {
                    for e in &errors.0 {
                        eprintln!("error: {e}");
                    }
                    eprintln!("{} error(s)", errors.0.len());
                    ExitCode::from(EXIT_FAILED)
                }
            }
        }
    }
}

fn print_rule(out: &mut impl Write, rules: &RuleSet, l: &comity_rules::listing::Listed<'_>) {
    let p = l.provision;
    let cites: Vec<String> = p.cites.iter().map(ToString::to_string).collect();
    let _ = writeln!(
        out,
        "{} {}  [{}]  {}:{}{}",
        l.instrument,
        l.label,
        cites.join(", "),
        rules.file_name(p.origin),
        p.origin.line,
        if p.verified { "" } else { "  NOT VERIFIED" }
    );
    if !p.quote.is_empty() {
        let _ = writeln!(out, "    \u{201c}{}\u{201d}", p.quote);
    }
    if !p.note.is_empty() {
        let _ = writeln!(out, "    note: {}", p.note);
    }
}
