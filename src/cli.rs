//! The command line: one argh struct per command (its description, options and example
//! are the only ones: `help`, completions and the man page read them from here). Global
//! options live in `globals`, and `parse` takes them from anywhere on the line.

mod globals;
mod parse;

pub use globals::{GLOBALS, Global, Globals, Id};
pub use parse::{ALIASES, Parsed, command_info, command_names, parse, wants_json};

use argh::{ArgsInfo, FromArgs};

// Global options are not argh's: `globals::GLOBALS` defines them and `parse` takes them
// out, wherever they stand, before argh sees the command.
/// alp: install prebuilt packages from static repositories; a container entrypoint.
#[derive(FromArgs, ArgsInfo, Debug)]
pub struct Top {
    #[argh(subcommand)]
    pub command: Command,
}

#[derive(FromArgs, ArgsInfo, Debug)]
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
    Fix(Fix),
    Sbom(Sbom),
    Clean(Clean),
    Config(ConfigCmd),
    InstallLocal(InstallLocal),
    Migrate(Migrate),
    SelfUpdate(SelfUpdate),
    Files(Files),
    Owner(Owner),
    Why(Why),
    Outdated(Outdated),
    Completions(Completions),
    Man(Man),
    Publish(Publish),
}

/// list the files an installed package owns
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "files", example = "alp files jq")]
pub struct Files {
    /// installed package name
    #[argh(positional)]
    pub name: String,
}

/// show which installed package owns a path
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "owner", example = "alp owner /usr/bin/jq")]
pub struct Owner {
    /// a path under the root (absolute or relative to it)
    #[argh(positional)]
    pub path: String,
}

/// show why a package is installed: the requests and dependants that keep it
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "why", example = "alp why oniguruma")]
pub struct Why {
    /// installed package name
    #[argh(positional)]
    pub name: String,
}

/// show what `upgrade` would do, with versions
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "outdated", example = "alp outdated")]
pub struct Outdated {}

/// print a shell completion script (bash, zsh or fish)
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "completions", example = "alp completions bash > /etc/bash_completion.d/alp")]
pub struct Completions {
    /// one of: bash, zsh, fish
    #[argh(positional)]
    pub shell: String,
}

/// print alp's manual page (roff)
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "man", example = "alp man > /usr/local/share/man/man1/alp.1")]
pub struct Man {}

/// manage signing keys: `key generate`
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "key", example = "alp key generate --unencrypted -s ci.key")]
pub struct Key {
    /// one of: generate
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
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "sign", example = "alp sign -s alp.key repo/index.json")]
pub struct Sign {
    /// secret key file (default ./alp.key)
    #[argh(option, short = 's')]
    pub secret: Option<String>,
    /// file to sign
    #[argh(positional)]
    pub file: String,
}

/// verify FILE.minisig against a public key or the trusted keys
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "verify", example = "alp verify -p alp.pub repo/index.json")]
pub struct Verify {
    /// public key file (default: every key in etc/alp/keys)
    #[argh(option, short = 'p')]
    pub public: Option<String>,
    /// file to verify
    #[argh(positional)]
    pub file: String,
}

/// show which key signed the index an installed package came from
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "cert-info", example = "alp cert-info jq")]
pub struct CertInfo {
    /// package name, or a legacy cerf.alpc / .alp file
    #[argh(positional)]
    pub name: String,
}

/// make a signing key pair; given a repository directory, sign its index too
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "cert-create", example = "alp cert-create --unencrypted repo")]
pub struct CertCreate {
    /// secret key file (default ./alp.key)
    #[argh(option, short = 's')]
    pub secret: Option<String>,
    /// do not encrypt the secret key
    #[argh(switch)]
    pub unencrypted: bool,
    /// replace an existing key or signature
    #[argh(switch)]
    pub force: bool,
    /// repository directory whose index.json to sign
    #[argh(positional)]
    pub dir: Option<String>,
}

/// fetch a repository's index and signature and report validity and key id
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "cert-scan", example = "alp cert-scan https://example.org/repo")]
pub struct CertScan {
    /// repository URL or path
    #[argh(positional)]
    pub url: String,
}

/// push a repository directory to an OCI registry
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "publish", example = "alp publish ./repo oci://ghcr.io/me/alp-repo:latest")]
pub struct Publish {
    /// the repository directory (index.json, its signature, the packages)
    #[argh(positional)]
    pub dir: String,
    /// oci://REGISTRY/NAME[:TAG] (oci+http:// for a plain-HTTP registry)
    #[argh(positional)]
    pub url: String,
}

/// counts and sizes: packages, disk, cache, last update
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "stats", example = "alp stats")]
pub struct Stats {}

/// check the installation; non-zero exit when something is wrong
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "doctor", example = "alp doctor")]
pub struct Doctor {}

/// print an SBOM of the installed packages (CycloneDX 1.5 or SPDX 2.3 JSON)
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "sbom", example = "alp sbom --format spdx -o /sbom.spdx.json")]
pub struct Sbom {
    /// cyclonedx (the default) or spdx
    #[argh(option)]
    pub format: Option<String>,
    /// write to FILE instead of stdout
    #[argh(option, short = 'o')]
    pub output: Option<String>,
}

/// finish an interrupted change and apply every fix doctor suggests
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "fix", example = "alp fix")]
pub struct Fix {}

/// empty the download cache (--all: kept indexes too)
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "clean", example = "alp clean --all")]
pub struct Clean {
    /// also remove kept indexes
    #[argh(switch)]
    pub all: bool,
}

/// show settings, or `config get KEY`, `config set KEY VALUE`
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "config", example = "alp config set timeout 60")]
pub struct ConfigCmd {
    /// get KEY | set KEY VALUE
    #[argh(positional)]
    pub args: Vec<String>,
}

/// install an old-format .alp package file
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "install-local", example = "alp install-local old-tool-1.0.alp")]
pub struct InstallLocal {
    /// the .alp file (or a .tar.gz archive)
    #[argh(positional)]
    pub file: String,
}

/// bring records and settings over from the old Python tool's ~/.alp
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "migrate", example = "alp migrate --from ~/.alp")]
pub struct Migrate {
    /// the old tool's directory (default ~/.alp)
    #[argh(option)]
    pub from: Option<String>,
}

/// replace this binary with the newest signed release
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "self-update", example = "alp self-update")]
pub struct SelfUpdate {
    /// allow a downgrade or re-install of the same version
    #[argh(switch)]
    pub force: bool,
    /// manifest URL (default: config release_url)
    #[argh(option)]
    pub url: Option<String>,
}

/// pin exact versions, URLs and sha256 of REQ and its dependencies
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "lock", example = "alp lock jq ripgrep -o alp.lock")]
pub struct Lock {
    /// output file ("-" for stdout)
    #[argh(option, short = 'o', default = "String::from(\"alp.lock\")")]
    pub output: String,
    /// packages to pin
    #[argh(positional)]
    pub requests: Vec<String>,
}

/// fetch and verify every repository's index
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "update", example = "alp update")]
pub struct Update {}

/// install packages (name, name=V, name@V, name>=V, ...) or local archives
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "install", example = "alp install jq 'ripgrep>=14' ./local-1.0.tar.zst")]
pub struct Install {
    /// put an installed package's files back as recorded (same version, through the
    /// normal transaction)
    #[argh(switch)]
    pub reinstall: bool,
    /// packages to install
    #[argh(positional)]
    pub requests: Vec<String>,
}

/// remove installed packages
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "remove", example = "alp remove --cascade oniguruma")]
pub struct Remove {
    /// also remove the packages that depend on them
    #[argh(switch)]
    pub cascade: bool,
    /// packages to remove
    #[argh(positional)]
    pub names: Vec<String>,
}

/// upgrade installed packages (all when none are named)
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "upgrade", example = "alp upgrade")]
pub struct Upgrade {
    /// packages to upgrade
    #[argh(positional)]
    pub names: Vec<String>,
}

/// list available packages, optionally of one category
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "list", example = "alp list --all-versions net")]
pub struct List {
    /// list every version, not only the newest
    #[argh(switch)]
    pub all_versions: bool,
    /// category
    #[argh(positional)]
    pub category: Option<String>,
}

/// search names and descriptions
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "search", example = "alp search json")]
pub struct Search {
    /// text to look for (case-insensitive)
    #[argh(positional)]
    pub term: String,
}

/// show everything about a package
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "info", example = "alp info jq")]
pub struct Info {
    /// package name
    #[argh(positional)]
    pub name: String,
}

/// list installed packages
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "installed", example = "alp installed")]
pub struct Installed {}

/// make a package archive from a directory (alias: compile)
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "build", example = "alp build -o repo pkgs/hello")]
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
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "index", example = "alp index --sign alp.key repo")]
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
    /// package URL of an --add asset, for SBOMs (e.g. pkg:github/OWNER/REPO@VERSION)
    #[argh(option)]
    pub purl: Option<String>,
    /// remove a signature left from before when indexing without --sign
    #[argh(switch)]
    pub force: bool,
    /// repository directory
    #[argh(positional)]
    pub dir: String,
}

/// container entrypoint: install what is declared, then run CMD as PID 1's child
#[derive(FromArgs, ArgsInfo, Debug)]
#[argh(subcommand, name = "init", example = "alp init --packages \"jq curl\" -- my-server --port 8080")]
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

#[cfg(test)]
mod tests {
    use super::*;

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
