//! The command line: global options, one subcommand each, parsed with argh.
//! Global options may come before or after the subcommand (`alp install jq --root /x`).

use argh::FromArgs;

/// alp: install prebuilt packages from static repositories; a container entrypoint.
#[derive(FromArgs, Debug)]
pub struct Cli {
    /// install root (default /, or $ALP_ROOT)
    #[argh(option)]
    pub root: Option<String>,
    /// add a repository URL or path (repeatable)
    #[argh(option)]
    pub repo: Vec<String>,
    /// download cache directory (default ROOT/var/cache/alp, or $ALP_CACHE_DIR)
    #[argh(option)]
    pub cache_dir: Option<String>,
    /// print one JSON document on stdout
    #[argh(switch)]
    pub json: bool,
    /// print only errors
    #[argh(switch, short = 'q')]
    pub quiet: bool,
    /// answer yes to any question
    #[argh(switch, short = 'y')]
    pub yes: bool,
    /// use only the cache and kept indexes; no network
    #[argh(switch)]
    pub offline: bool,
    /// print the plan and change nothing
    #[argh(switch)]
    pub simulate: bool,
    /// no colour (also NO_COLOR)
    #[argh(switch)]
    pub no_color: bool,
    /// accept indexes that are unsigned or signed by an untrusted key
    #[argh(switch)]
    pub allow_untrusted: bool,
    /// keep setuid/setgid bits from archives
    #[argh(switch)]
    pub allow_setuid: bool,
    /// install packages built for this arch (x86_64, aarch64; default: this binary's)
    #[argh(option)]
    pub arch: Option<String>,
    #[argh(subcommand)]
    pub command: Command,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum Command {
    Update(Update),
    Install(Install),
    Remove(Remove),
    Upgrade(Upgrade),
    List(List),
    Search(Search),
    Info(Info),
    Installed(Installed),
    Build(Build),
    Index(Index),
    Init(Init),
    Lock(Lock),
    Key(Key),
    Sign(Sign),
    Verify(Verify),
    CertInfo(CertInfo),
    CertCreate(CertCreate),
    CertScan(CertScan),
    Stats(Stats),
    Doctor(Doctor),
    Clean(Clean),
    Config(ConfigCmd),
    InstallLocal(InstallLocal),
    Migrate(Migrate),
    SelfUpdate(SelfUpdate),
    Publish(Publish),
}

/// manage signing keys: `key generate`
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "key")]
pub struct Key {
    /// action: generate
    #[argh(positional)]
    pub action: String,
    /// secret key file to write (default ./alp.key); the public key goes beside it as .pub
    #[argh(option, short = 's')]
    pub secret: Option<String>,
    /// public key file to write (default: secret key path with .pub)
    #[argh(option, short = 'p')]
    pub public: Option<String>,
    /// do not encrypt the secret key (for CI); otherwise a password is read from $ALP_KEY_PASSWORD or the terminal
    #[argh(switch)]
    pub unencrypted: bool,
    /// overwrite existing key files
    #[argh(switch)]
    pub force: bool,
}

/// sign a file with a minisign secret key (writes FILE.minisig)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "sign")]
pub struct Sign {
    /// secret key file (default ./alp.key)
    #[argh(option, short = 's')]
    pub secret: Option<String>,
    /// file to sign
    #[argh(positional)]
    pub file: String,
}

/// verify FILE.minisig against a public key or the trusted keys
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "verify")]
pub struct Verify {
    /// public key file (default: every key in etc/alp/keys)
    #[argh(option, short = 'p')]
    pub public: Option<String>,
    /// file to verify
    #[argh(positional)]
    pub file: String,
}

/// show which key signed the index an installed package came from
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "cert-info")]
pub struct CertInfo {
    /// package name, or a legacy cerf.alpc / .alp file
    #[argh(positional)]
    pub name: String,
}

/// make a signing key pair; given a repository directory, sign its index too
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "cert-create")]
pub struct CertCreate {
    /// secret key file (default ./alp.key)
    #[argh(option, short = 's')]
    pub secret: Option<String>,
    /// do not encrypt the secret key
    #[argh(switch)]
    pub unencrypted: bool,
    /// repository directory whose index.json to sign
    #[argh(positional)]
    pub dir: Option<String>,
}

/// fetch a repository's index and signature and report validity and key id
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "cert-scan")]
pub struct CertScan {
    /// repository URL or path
    #[argh(positional)]
    pub url: String,
}

/// push a repository directory to an OCI registry
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "publish")]
pub struct Publish {
    /// the repository directory (index.json, its signature, the packages)
    #[argh(positional)]
    pub dir: String,
    /// oci://REGISTRY/NAME[:TAG] (oci+http:// for a plain-HTTP registry)
    #[argh(positional)]
    pub url: String,
}

/// counts and sizes: packages, disk, cache, last update
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "stats")]
pub struct Stats {}

/// check the installation; non-zero exit when something is wrong
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "doctor")]
pub struct Doctor {}

/// empty the download cache (--all: kept indexes too)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "clean")]
pub struct Clean {
    /// also remove kept indexes
    #[argh(switch)]
    pub all: bool,
}

/// show settings, or `config get KEY`, `config set KEY VALUE`
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "config")]
pub struct ConfigCmd {
    /// get KEY | set KEY VALUE
    #[argh(positional)]
    pub args: Vec<String>,
}

/// install an old-format .alp package file
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "install-local")]
pub struct InstallLocal {
    /// the .alp file (or a .tar.gz archive)
    #[argh(positional)]
    pub file: String,
}

/// bring records and settings over from the old Python tool's ~/.alp
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "migrate")]
pub struct Migrate {
    /// the old tool's directory (default ~/.alp)
    #[argh(option)]
    pub from: Option<String>,
}

/// replace this binary with the newest signed release
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "self-update")]
pub struct SelfUpdate {
    /// allow a downgrade or re-install of the same version
    #[argh(switch)]
    pub force: bool,
    /// manifest URL (default: config release_url)
    #[argh(option)]
    pub url: Option<String>,
}

/// pin exact versions, URLs and sha256 of REQ and its dependencies
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "lock")]
pub struct Lock {
    /// output file ("-" for stdout)
    #[argh(option, short = 'o', default = "String::from(\"alp.lock\")")]
    pub output: String,
    /// packages to pin
    #[argh(positional)]
    pub requests: Vec<String>,
}

/// fetch and verify every repository's index
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "update")]
pub struct Update {}

/// install packages (name, name=V, name>=V, ...) or local archives
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "install")]
pub struct Install {
    /// packages to install
    #[argh(positional)]
    pub requests: Vec<String>,
}

/// remove installed packages
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "remove")]
pub struct Remove {
    /// also remove the packages that depend on them
    #[argh(switch)]
    pub cascade: bool,
    /// packages to remove
    #[argh(positional)]
    pub names: Vec<String>,
}

/// upgrade installed packages (all when none are named)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "upgrade")]
pub struct Upgrade {
    /// packages to upgrade
    #[argh(positional)]
    pub names: Vec<String>,
}

/// list available packages, optionally of one category
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "list")]
pub struct List {
    /// category
    #[argh(positional)]
    pub category: Option<String>,
}

/// search names and descriptions
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "search")]
pub struct Search {
    /// text to look for (case-insensitive)
    #[argh(positional)]
    pub term: String,
}

/// show everything about a package
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "info")]
pub struct Info {
    /// package name
    #[argh(positional)]
    pub name: String,
}

/// list installed packages
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "installed")]
pub struct Installed {}

/// make a package archive from a directory (alias: compile)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "build")]
pub struct Build {
    /// output directory (default: current directory)
    #[argh(option, short = 'o')]
    pub output: Option<String>,
    /// compression: zst (default), gz or xz
    #[argh(option)]
    pub format: Option<String>,
    /// package directory: payload files plus .ALP/package.json
    #[argh(positional)]
    pub dir: String,
}

/// write DIR/index.json for the archives in DIR
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "index")]
pub struct Index {
    /// repository name (default: the directory's name); with --add, the package's name
    #[argh(option)]
    pub name: Option<String>,
    /// add an upstream asset (URL or path) as a package, fetched once to measure it
    #[argh(option)]
    pub add: Option<String>,
    /// with --add: the package's version
    #[argh(option)]
    pub version: Option<String>,
    /// with --add: the arch it is built for (x86_64, aarch64, noarch)
    #[argh(option)]
    pub arch: Option<String>,
    /// with --add: leading path components to drop from its members
    #[argh(option)]
    pub strip: Option<u32>,
    /// with --add: directory its tree goes under
    #[argh(option)]
    pub prefix: Option<String>,
    /// with --add: SRC=DST[:MODE], install member(s) matching glob SRC at DST (repeatable)
    #[argh(option)]
    pub file: Vec<String>,
    /// serial (default: one more than the existing index's)
    #[argh(option)]
    pub serial: Option<u64>,
    /// expiry in days from now (default: none)
    #[argh(option)]
    pub expires_days: Option<u64>,
    /// sign index.json with this secret key as it is written
    #[argh(option)]
    pub sign: Option<String>,
    /// repository directory
    #[argh(positional)]
    pub dir: String,
}

/// container entrypoint: install what is declared, then run CMD as PID 1's child
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "init")]
pub struct Init {
    /// packages to ensure (space or comma separated; also $ALP_PACKAGES)
    #[argh(option)]
    pub packages: Option<String>,
    /// install exactly what this lock file pins
    #[argh(option)]
    pub lock: Option<String>,
    /// start CMD even if installing fails
    #[argh(switch)]
    pub keep_going: bool,
    /// forward signals to the child's process group
    #[argh(switch, short = 'g')]
    pub group: bool,
    /// treat this exit code of CMD as 0 (repeatable)
    #[argh(option, short = 'e')]
    pub expect: Vec<i32>,
    /// seconds the processes left after CMD exits get between SIGTERM and SIGKILL (default 3; also $ALP_GRACE)
    #[argh(option, arg_name = "seconds", from_str_fn(seconds))]
    pub grace: Option<std::time::Duration>,
    /// seconds to hold the runtime's first SIGTERM before forwarding it (default 0; also $ALP_TERM_DELAY)
    #[argh(option, arg_name = "seconds", from_str_fn(seconds))]
    pub term_delay: Option<std::time::Duration>,
    /// keep running until every descendant has exited, not only CMD
    #[argh(switch)]
    pub wait_all: bool,
    /// command and arguments
    #[argh(positional, greedy)]
    pub command: Vec<String>,
}

/// A duration in seconds, whole or decimal (`3`, `0.5`): `--grace` and `--term-delay`, and
/// their environment variables.
pub fn seconds(text: &str) -> Result<std::time::Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("'{text}' is not a number of seconds (such as 3 or 0.5)"))
}

/// Options that take a value, for moving global options in front of the subcommand.
const GLOBAL_WITH_VALUE: &[&str] = &["--root", "--repo", "--cache-dir"];
/// `init`'s own options that take a value: the word after one is not yet the command.
const INIT_WITH_VALUE: &[&str] = &["--packages", "--lock", "-e", "--expect", "--grace", "--term-delay"];
const GLOBAL_SWITCHES: &[&str] = &[
    "--json",
    "--quiet",
    "-q",
    "--yes",
    "-y",
    "--offline",
    "--simulate",
    "--no-color",
    "--allow-untrusted",
    "--allow-setuid",
];
/// Old and alternative command names.
const ALIASES: &[(&str, &str)] =
    &[("compile", "build"), ("add", "install"), ("del", "remove"), ("uninstall", "remove")];

/// Reorders `args` (without the program name) so argh sees global options first, and maps
/// aliases to their command. Nothing after a `--` is touched (init's command).
pub fn normalize(args: &[String]) -> Vec<String> {
    let mut globals = Vec::new();
    let mut rest = Vec::new();
    let mut i = 0;
    let mut seen_command = false;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            rest.extend(args[i..].iter().cloned());
            break;
        }
        if let Some((flag, _)) = a.split_once('=').filter(|(f, _)| GLOBAL_WITH_VALUE.contains(f)) {
            let value = a[flag.len() + 1..].to_string();
            globals.push(flag.to_string());
            globals.push(value);
        } else if GLOBAL_WITH_VALUE.contains(&a.as_str()) && i + 1 < args.len() {
            globals.push(a.clone());
            globals.push(args[i + 1].clone());
            i += 1;
        } else if GLOBAL_SWITCHES.contains(&a.as_str()) {
            globals.push(a.clone());
        } else if !seen_command && !a.starts_with('-') {
            seen_command = true;
            let name = ALIASES.iter().find(|(from, _)| from == a).map_or(a.as_str(), |(_, to)| to);
            rest.push(name.to_string());
            // init's command starts at its first positional: leave the rest alone.
            if name == "init" {
                let tail = &args[i + 1..];
                let mut j = 0;
                while j < tail.len() {
                    let t = &tail[j];
                    if t == "--" || !t.starts_with('-') {
                        break;
                    }
                    if GLOBAL_SWITCHES.contains(&t.as_str()) {
                        globals.push(t.clone());
                    } else if GLOBAL_WITH_VALUE.contains(&t.as_str()) && j + 1 < tail.len() {
                        globals.push(t.clone());
                        globals.push(tail[j + 1].clone());
                        j += 1;
                    } else {
                        rest.push(t.clone());
                        if INIT_WITH_VALUE.contains(&t.as_str()) && j + 1 < tail.len() {
                            rest.push(tail[j + 1].clone());
                            j += 1;
                        }
                    }
                    j += 1;
                }
                if j < tail.len() && tail[j] != "--" {
                    rest.push("--".to_string());
                }
                rest.extend(tail[j..].iter().cloned());
                break;
            }
        } else {
            rest.push(a.clone());
        }
        i += 1;
    }
    globals.extend(rest);
    globals
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(args: &[&str]) -> Vec<String> {
        normalize(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn globals_move_to_the_front() {
        assert_eq!(n(&["install", "jq", "--root", "/x", "-q"]), ["--root", "/x", "-q", "install", "jq"]);
        assert_eq!(n(&["compile", "dir", "--root=/r"]), ["--root", "/r", "build", "dir"]);
    }

    #[test]
    fn init_command_is_left_alone() {
        assert_eq!(n(&["init", "-g", "sh", "-c", "x --root y"]), ["init", "-g", "--", "sh", "-c", "x --root y"]);
        assert_eq!(n(&["init", "--root", "/r", "--", "a", "--json"]), ["--root", "/r", "init", "--", "a", "--json"]);
        assert_eq!(n(&["init"]), ["init"]);
        assert_eq!(
            n(&["init", "--grace", "1", "--term-delay", "2", "--wait-all", "sleep", "5"]),
            ["init", "--grace", "1", "--term-delay", "2", "--wait-all", "--", "sleep", "5"]
        );
    }

    #[test]
    fn seconds_are_whole_or_decimal_and_never_negative() {
        use std::time::Duration;
        assert_eq!(seconds("3"), Ok(Duration::from_secs(3)));
        assert_eq!(seconds("0"), Ok(Duration::ZERO));
        assert_eq!(seconds(" 0.25 "), Ok(Duration::from_millis(250)));
        for bad in ["", "-1", "3s", "NaN", "inf", "1e400"] {
            assert!(seconds(bad).is_err(), "accepted {bad:?}");
        }
    }
}
