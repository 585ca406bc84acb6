//! `comity lab run|diff|what-if`: the policy lab on the command line. The lab itself
//! (`comity-lab`) is pure; this module reads corpora, shows progress, times the run (timings
//! go to the terminal only) and writes the report's files.

use crate::{EXIT_BAD_INPUT, EXIT_FAILED, diag, rules_cmd};
use comity_lab::{Change, Generator, Lab, Source, report};
use comity_types::{Citation, Code, Ground, PartyCode, Scenario, Set};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Subcommand, Debug)]
pub enum LabCommand {
    /// Decide generated (or given) scenarios under every instrument and write the report to
    /// DIR: report.html, summary.json, differences.csv and examples/*.toml.
    Run(RunArgs),
    /// Print where the instruments' outcomes differ, grouped by the rule that makes the
    /// difference.
    Diff(DiffArgs),
    /// Change one Party's profile (a reservation, a refuse_on ground, an MLA treaty) and show
    /// which decisions change, and why.
    WhatIf(WhatIfArgs),
}

#[derive(clap::Args, Debug)]
pub struct SourceArgs {
    /// Instruments to compare, comma-separated: each scenario is decided invoking each.
    #[arg(long, default_value = "UNCC,BUD", value_name = "LIST")]
    instruments: String,
    /// How many scenarios to generate.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    count: u64,
    /// Seed of the generator: the same seed gives the same scenarios and the same report.
    #[arg(long, default_value_t = 1, value_name = "S")]
    seed: u64,
    /// Read scenario files (a file, or a directory searched for *.toml) instead of generating;
    /// each is decided invoking every instrument, whatever its own basis.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["count", "seed"])]
    scenarios: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Use the rule files in DIR instead of the built-in rules.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Directory to write the report to (created if needed).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// How many groups to print per comparison.
    #[arg(long, default_value_t = 20, value_name = "N")]
    top: usize,
    /// Print summary.json instead.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct WhatIfArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// The Party whose profile changes (generated scenarios: AR requests, BO is requested).
    #[arg(long, default_value = comity_lab::generate::REQUESTED, value_name = "CODE")]
    party: String,
    /// Add a reservation, e.g. "BUD 29(4)" (repeatable).
    #[arg(long, value_name = "CITATION")]
    add_reservation: Vec<String>,
    /// Add a ground to the Party's refuse_on (repeatable).
    #[arg(long, value_name = "GROUND")]
    add_refuse_on: Vec<String>,
    /// Bind the Party and the other Party of each request by an MLA treaty.
    #[arg(long)]
    add_mla_treaty: bool,
    /// How many groups to print per instrument.
    #[arg(long, default_value_t = 15, value_name = "N")]
    top: usize,
}

pub fn run(cmd: LabCommand) -> ExitCode {
    match cmd {
        LabCommand::Run(args) => run_report(args),
        LabCommand::Diff(args) => diff(args),
        LabCommand::WhatIf(args) => what_if(args),
    }
}

fn bad(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(EXIT_BAD_INPUT)
}

fn failed(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(EXIT_FAILED)
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
        std::fs::metadata(path)?;
        out.push(path.to_owned());
    }
    Ok(())
}

/// Reads every scenario file under `path`, in path order.
fn read_corpus(path: &Path) -> Result<Vec<Scenario>, ExitCode> {
    let mut files = Vec::new();
    if let Err(e) = toml_files(path, &mut files) {
        return Err(bad(format_args!(
            "--scenarios {}: cannot read: {e}",
            path.display()
        )));
    }
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let name = f.display().to_string();
        let text = std::fs::read_to_string(&f)
            .map_err(|e| bad(format_args!("{name}: cannot read: {e}")))?;
        match comity_scenario::parse(&name, &text) {
            Ok(file) => out.push(file.scenario),
            Err(e) => {
                diag::scenario_error(&e, &text);
                return Err(ExitCode::from(EXIT_BAD_INPUT));
            }
        }
    }
    if out.is_empty() {
        return Err(bad(format_args!(
            "--scenarios {}: no scenario file (*.toml) there",
            path.display()
        )));
    }
    Ok(out)
}

/// What the lab needs, read and checked from the arguments.
struct Ready {
    lab: Lab<'static>,
    generator: Option<Generator>,
    count: u64,
    corpus: Vec<Scenario>,
    corpus_name: String,
}

impl Ready {
    fn source(&self) -> Source<'_> {
        match &self.generator {
            Some(g) => Source::Generated(g, self.count),
            None => Source::Corpus(&self.corpus_name, &self.corpus),
        }
    }
}

fn load(a: &SourceArgs) -> Result<Ready, ExitCode> {
    let rules = rules_cmd::load_rules(a.rules.as_deref())?;
    let instruments = comity_lab::parse_instruments(&a.instruments).map_err(bad)?;
    let lab = Lab::new(rules, instruments).map_err(bad)?;
    if a.threads == Some(0) {
        return Err(bad("--threads must be at least 1"));
    }
    match &a.scenarios {
        Some(path) => {
            let corpus = read_corpus(path)?;
            Ok(Ready {
                lab,
                generator: None,
                count: corpus.len() as u64,
                corpus,
                corpus_name: path.display().to_string(),
            })
        }
        None => {
            if a.count == 0 {
                return Err(bad("--count must be at least 1"));
            }
            let g = Generator::new(rules, a.seed).map_err(failed)?;
            Ok(Ready {
                lab,
                generator: Some(g),
                count: a.count,
                corpus: Vec::new(),
                corpus_name: String::new(),
            })
        }
    }
}

fn progress_bar(quiet: bool, len: u64) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "deciding [{bar:40}] {human_pos}/{human_len} scenarios ({per_sec}, {eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn threads_used(a: &SourceArgs) -> usize {
    a.threads.unwrap_or_else(rayon_threads)
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Times a run and tells the terminal (never the report) how fast it was.
fn timed<T>(
    a: &SourceArgs,
    ready: &Ready,
    work: impl FnOnce(&ProgressBar) -> T,
    decisions: impl Fn(&T) -> u64,
) -> T {
    let bar = progress_bar(a.quiet, ready.source().len());
    let start = Instant::now();
    let out = work(&bar);
    let secs = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let d = decisions(&out);
    let rate = if secs > 0.0 { d as f64 / secs } else { 0.0 };
    eprintln!(
        "{} scenarios, {d} decisions in {secs:.2} s: {:.0} decisions/s on {} threads",
        ready.source().len(),
        rate,
        threads_used(a)
    );
    out
}

fn summary(a: &SourceArgs, ready: &Ready) -> Result<comity_lab::Summary, ExitCode> {
    let source = ready.source();
    let result = timed(
        a,
        ready,
        |bar| ready.lab.run(&source, a.threads, &|n| bar.inc(n)),
        |r| r.as_ref().map_or(0, |s| s.decisions),
    );
    result.map_err(failed)
}

fn run_report(args: RunArgs) -> ExitCode {
    let ready = match load(&args.source) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let s = match summary(&args.source, &ready) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let lab = &ready.lab;
    let files = (|| -> Result<Vec<(String, String)>, comity_lab::LabError> {
        let mut files = vec![
            ("summary.json".to_owned(), report::summary_json(&s)?),
            ("differences.csv".to_owned(), report::differences_csv(&s)),
            ("report.html".to_owned(), report::report_html(&s)?),
        ];
        files.extend(report::examples(lab, &s, &ready.source())?);
        Ok(files)
    })();
    let files = match files {
        Ok(f) => f,
        Err(e) => return failed(e),
    };
    let examples = args.out.join("examples");
    if let Err(e) = std::fs::create_dir_all(&examples) {
        return bad(format_args!("{}: cannot create: {e}", examples.display()));
    }
    // Example files of an earlier run would mislead next to this one's.
    if let Ok(entries) = std::fs::read_dir(&examples) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let ours = name.ends_with(".toml") && name.contains("-g") && !name.starts_with('.');
            if ours && let Err(err) = std::fs::remove_file(e.path()) {
                return failed(format_args!("{}: cannot remove: {err}", e.path().display()));
            }
        }
    }
    for (rel, text) in &files {
        let path = args.out.join(rel);
        if let Err(e) = std::fs::write(&path, text) {
            return failed(format_args!("{}: cannot write: {e}", path.display()));
        }
    }
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "wrote {} (report.html, summary.json, differences.csv, {} example scenarios)",
        args.out.display(),
        files.len().saturating_sub(3)
    );
    for c in &s.comparisons {
        let [a, b] = c.sides;
        let _ = writeln!(
            stdout,
            "{a} / {b}: outcomes differ in {} of {} scenarios, {} groups",
            c.differing,
            s.scenarios,
            c.groups.len()
        );
    }
    ExitCode::SUCCESS
}

fn diff(args: DiffArgs) -> ExitCode {
    let ready = match load(&args.source) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let s = match summary(&args.source, &ready) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let text = if args.json {
        match report::summary_json(&s) {
            Ok(t) => t,
            Err(e) => return failed(e),
        }
    } else {
        report::diff_text(&s, args.top)
    };
    let _ = write!(std::io::stdout().lock(), "{text}");
    ExitCode::SUCCESS
}

fn what_if(args: WhatIfArgs) -> ExitCode {
    let Some(party) = PartyCode::parse(&args.party) else {
        return bad(format_args!(
            "--party `{}`: expected a Party code of two upper-case letters",
            args.party
        ));
    };
    let mut reservations = Vec::new();
    for r in &args.add_reservation {
        match Citation::parse(r) {
            Ok(c) => reservations.push(c),
            Err(e) => return bad(format_args!("--add-reservation `{r}`: {e}")),
        }
    }
    let mut refuse_on: Set<Ground> = Set::empty();
    for g in &args.add_refuse_on {
        match Ground::from_code(g) {
            Some(x) => refuse_on.insert(x),
            None => {
                return bad(format_args!(
                    "--add-refuse-on `{g}`: expected one of {}",
                    Ground::expected()
                ));
            }
        }
    }
    let change = Change {
        party,
        reservations,
        refuse_on,
        mla_treaty: args.add_mla_treaty,
    };
    if change.is_empty() {
        return bad(
            "nothing to change: give --add-reservation, --add-refuse-on or --add-mla-treaty",
        );
    }
    let ready = match load(&args.source) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let source = ready.source();
    let k = ready.lab.instruments().len() as u64;
    let result = timed(
        &args.source,
        &ready,
        |bar| {
            ready
                .lab
                .what_if(&source, &change, args.source.threads, &|n| bar.inc(n))
        },
        |r| r.as_ref().map_or(0, |w| w.affected * k * 2),
    );
    let w = match result {
        Ok(w) => w,
        Err(e) => return failed(e),
    };
    if w.affected == 0 {
        return bad(format_args!(
            "--party {party} appears in none of the {} scenarios (generated scenarios have {} requesting and {} requested)",
            w.scenarios,
            comity_lab::generate::REQUESTING,
            comity_lab::generate::REQUESTED
        ));
    }
    let _ = write!(
        std::io::stdout().lock(),
        "{}",
        report::what_if_text(&w, args.top)
    );
    ExitCode::SUCCESS
}
