//! One thin file per command family; each parses nothing and owns no policy, it calls the core.

pub mod admin;
pub mod build;
pub mod doctor;
pub mod help;
pub mod init;
pub mod inspect;
pub mod install;
pub mod legacy;
pub mod plan;
pub mod publish;
pub mod query;
pub mod sbom;
pub mod selfupdate;
pub mod trust;
pub mod update;

use crate::cli::{Command, Globals, Id};
use crate::config::Paths;
use crate::ctx::Ctx;
use crate::error::Result;
use std::path::PathBuf;

pub fn version_line() -> String {
    format!(
        "alp {} ({} {}, {})",
        env!("CARGO_PKG_VERSION"),
        env!("ALP_GIT_COMMIT"),
        env!("ALP_BUILD_DATE"),
        env!("ALP_TARGET")
    )
}

pub fn dispatch(g: Globals, command: Command) -> Result<i32> {
    crate::ui::setup(g.on(Id::Quiet), g.on(Id::NoColor));
    crate::ui::set_verbose(g.on(Id::Verbose) && !g.on(Id::Quiet));
    let started = std::time::Instant::now();
    let root = g.value(Id::Root).unwrap_or_else(|| "/".to_string());
    // Not for init: its fast path reads the database and nothing else (a file as root
    // fails there, naming the path).
    if !matches!(command, Command::Init(_)) && std::fs::metadata(&root).is_ok_and(|m| !m.is_dir()) {
        return Err(crate::error::usage(format!("--root {root} is not a directory")));
    }
    let paths = Paths::new(PathBuf::from(root), g.value(Id::CacheDir).map(PathBuf::from));
    crate::fetch::auth::init(&paths.root);
    crate::log::open(paths.log());
    let ctx = Ctx {
        paths,
        config: Default::default(),
        offline: g.on(Id::Offline),
        cli_repos: g.values(Id::Repo),
        json: g.on(Id::Json),
        quiet: g.on(Id::Quiet),
        yes: g.on(Id::Yes),
        simulate: g.on(Id::Simulate),
        allow_untrusted: g.on(Id::AllowUntrusted),
        allow_setuid: g.on(Id::AllowSetuid),
        arch: match g.value(Id::Arch) {
            Some(a) if crate::repo::index::ARCHES.contains(&a.as_str()) && a != "noarch" => a,
            Some(a) => return Err(crate::error::usage(format!("unknown arch '{a}' (use x86_64 or aarch64)"))),
            None => crate::repo::index::native_arch().to_string(),
        },
    };
    // A broken config.json stops every command before it starts, except three: `doctor`,
    // which reports it, `config`, which can set a wrong value right (`get` and `show` still
    // refuse), and `init`, whose fast path reads the database and nothing else (it reads the
    // settings when it has to install).
    if !matches!(
        command,
        Command::Init(_)
            | Command::Doctor(_)
            | Command::Fix(_)
            | Command::Config(_)
            | Command::Completions(_)
            | Command::Man(_)
    ) {
        ctx.config()?;
    }
    let result = match command {
        Command::Update(_) => update::update(&ctx),
        Command::Install(a) if a.reinstall => install::reinstall(&ctx, &a.requests),
        Command::Install(a) => install::install(&ctx, &a.requests),
        Command::Remove(a) => install::remove(&ctx, &a.names, a.cascade),
        Command::Upgrade(a) => install::upgrade(&ctx, &a.names),
        Command::List(a) => query::list(&ctx, a.category.as_deref(), a.all_versions),
        Command::Search(a) => query::search(&ctx, &a.term),
        Command::Info(a) => query::info(&ctx, &a.name),
        Command::Installed(_) => query::installed(&ctx),
        Command::Build(a) => build::build(&ctx, &a),
        Command::Index(a) => build::index(&ctx, &a),
        Command::Init(a) => init::init(&ctx, &a),
        Command::Lock(a) => init::lock(&ctx, &a.requests, &a.output),
        Command::Key(a) => trust::key(&ctx, &a),
        Command::Sign(a) => trust::sign(&ctx, &a),
        Command::Verify(a) => trust::verify(&ctx, &a),
        Command::CertInfo(a) => trust::cert_info(&ctx, &a),
        Command::CertCreate(a) => trust::cert_create(&ctx, &a),
        Command::CertScan(a) => trust::cert_scan(&ctx, &a),
        Command::Stats(_) => admin::stats(&ctx),
        Command::Doctor(_) => doctor::doctor(&ctx),
        Command::Fix(_) => doctor::fix(&ctx),
        Command::Sbom(a) => sbom::sbom(&ctx, &a),
        Command::Clean(a) => admin::clean(&ctx, a.all),
        Command::Config(a) => admin::config(&ctx, &a.args),
        Command::InstallLocal(a) => legacy::install_local(&ctx, &a.file),
        Command::Migrate(a) => legacy::migrate(&ctx, a.from.as_deref()),
        Command::SelfUpdate(a) => selfupdate::self_update(&ctx, &a),
        Command::Files(a) => inspect::files(&ctx, &a.name),
        Command::Owner(a) => inspect::owner(&ctx, &a.path),
        Command::Why(a) => inspect::why(&ctx, &a.name),
        Command::Outdated(_) => install::outdated(&ctx),
        Command::Completions(a) => help::completions(&a.shell),
        Command::Man(_) => help::man(),
        Command::Publish(a) => publish::publish(&ctx, &a),
    };
    let result = result.map_err(crate::repo::name_unreadable);
    crate::ui::verbose(&format!("took {:.2} s", started.elapsed().as_secs_f64()));
    // Logged here rather than where it is printed (main), so that writing the log can apply
    // the `log_size` setting; errors before this point have no log to go to.
    if let Err(e) = &result {
        crate::log::error(&e.msg);
    }
    ctx.flush_log();
    result
}

/// The document `--json` prints on stdout when a command fails.
pub fn error_document(e: &crate::error::Error) -> miniserde::json::Value {
    use crate::json;
    json::object(vec![(
        "error",
        json::object(vec![("code", json::number(e.exit_code() as u64)), ("message", json::string(e.msg.clone()))]),
    )])
}

static PRINTED_JSON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a command has printed its JSON document (a failing `verify` prints its report,
/// and then no error document follows: `--json` gives one document).
pub fn json_printed() -> bool {
    PRINTED_JSON.load(std::sync::atomic::Ordering::Relaxed)
}

/// Prints a JSON document on stdout (for `--json`).
pub fn print_json(v: &miniserde::json::Value) {
    PRINTED_JSON.store(true, std::sync::atomic::Ordering::Relaxed);
    println!("{}", miniserde::json::to_string(v));
}
