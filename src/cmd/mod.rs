//! One thin file per command family; each parses nothing and owns no policy, it calls the core.

pub mod admin;
pub mod build;
pub mod help;
pub mod init;
pub mod install;
pub mod legacy;
pub mod publish;
pub mod query;
pub mod selfupdate;
pub mod trust;
pub mod update;

use crate::cli::{Cli, Command};
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

pub fn dispatch(cli: Cli) -> Result<i32> {
    crate::ui::setup(cli.quiet, cli.no_color);
    let root = cli.root.clone().or_else(|| std::env::var("ALP_ROOT").ok()).unwrap_or_else(|| "/".to_string());
    let cache = cli.cache_dir.clone().or_else(|| std::env::var("ALP_CACHE_DIR").ok()).map(PathBuf::from);
    let paths = Paths::new(PathBuf::from(root), cache);
    crate::fetch::auth::init(&paths.root);
    crate::log::open(paths.log());
    let offline = cli.offline || std::env::var("ALP_OFFLINE").is_ok_and(|v| v == "1" || v == "true");
    let ctx = Ctx {
        paths,
        config: Default::default(),
        offline,
        cli_repos: cli.repo,
        json: cli.json,
        quiet: cli.quiet,
        yes: cli.yes,
        simulate: cli.simulate,
        allow_untrusted: cli.allow_untrusted,
        allow_setuid: cli.allow_setuid,
        arch: match cli.arch {
            Some(a) if crate::repo::index::ARCHES.contains(&a.as_str()) && a != "noarch" => a,
            Some(a) => return Err(crate::error::usage(format!("unknown arch '{a}' (use x86_64 or aarch64)"))),
            None => crate::repo::index::native_arch().to_string(),
        },
    };
    // A broken config.json stops every command before it starts, except three: `doctor`,
    // which reports it, `config`, which can set a wrong value right (`get` and `show` still
    // refuse), and `init`, whose fast path reads the database and nothing else (it reads the
    // settings when it has to install).
    if !matches!(cli.command, Command::Init(_) | Command::Doctor(_) | Command::Config(_)) {
        ctx.config()?;
    }
    let result = match cli.command {
        Command::Update(_) => update::update(&ctx),
        Command::Install(a) => install::install(&ctx, &a.requests),
        Command::Remove(a) => install::remove(&ctx, &a.names, a.cascade),
        Command::Upgrade(a) => install::upgrade(&ctx, &a.names),
        Command::List(a) => query::list(&ctx, a.category.as_deref()),
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
        Command::Doctor(_) => admin::doctor(&ctx),
        Command::Clean(a) => admin::clean(&ctx, a.all),
        Command::Config(a) => admin::config(&ctx, &a.args),
        Command::InstallLocal(a) => legacy::install_local(&ctx, &a.file),
        Command::Migrate(a) => legacy::migrate(&ctx, a.from.as_deref()),
        Command::SelfUpdate(a) => selfupdate::self_update(&ctx, &a),
        Command::Publish(a) => publish::publish(&ctx, &a),
    };
    let result = result.map_err(crate::repo::name_unreadable);
    // Logged here rather than where it is printed (main), so that writing the log can apply
    // the `log_size` setting; errors before this point have no log to go to.
    if let Err(e) = &result {
        crate::log::error(&e.msg);
    }
    ctx.flush_log();
    result
}

/// Prints a JSON document on stdout (for `--json`).
pub fn print_json(v: &miniserde::json::Value) {
    println!("{}", miniserde::json::to_string(v));
}
