//! `alp help`, each command's `--help`, shell completions and the man page: all read from
//! the argh command structs (description, options, example) and the global option table,
//! so nothing here repeats what a command does.

use crate::cli::{self, GLOBALS, Top};
use crate::error::{self, Result};
use argh::{FlagInfoKind, FromArgs};

/// The overview's groups, as the old tool grouped them: each command with its arguments.
/// What each does comes from its struct in `cli`.
const GROUPS: &[(&str, &[&str])] = &[
    (
        "Packages",
        &[
            "update",
            "install REQ...",
            "remove NAME...",
            "upgrade [NAME...]",
            "outdated",
            "list [CATEGORY]",
            "installed",
            "search TERM",
            "info NAME",
            "files NAME",
            "owner PATH",
            "why NAME",
        ],
    ),
    ("Building repositories", &["build DIR", "index DIR", "install-local FILE", "lock REQ..."]),
    (
        "Trust",
        &[
            "key generate",
            "sign FILE",
            "verify FILE",
            "cert-create [DIR]",
            "cert-info NAME",
            "cert-scan URL",
            "publish DIR URL",
        ],
    ),
    (
        "System",
        &[
            "stats",
            "doctor",
            "fix",
            "sbom",
            "clean",
            "config [get K|set K V]",
            "migrate",
            "self-update",
            "completions SHELL",
            "man",
        ],
    ),
    ("Containers", &["init [--] CMD..."]),
];

/// What a command does: the first line of its argh description.
fn describe(name: &str) -> String {
    cli::command_info(name).map(|i| i.description.lines().next().unwrap_or("").to_string()).unwrap_or_default()
}

pub fn overview() -> String {
    let mut out = String::from(
        "alp: install prebuilt packages from static repositories\n\nUsage: alp [OPTIONS] COMMAND [ARGS]\n",
    );
    for (group, cmds) in GROUPS {
        out.push_str(&format!("\n{group}:\n"));
        for synopsis in *cmds {
            let name = synopsis.split(' ').next().unwrap_or(synopsis);
            out.push_str(&format!("  {synopsis:<22} {}\n", describe(name)));
        }
    }
    out.push_str("\nOptions (anywhere on the line):\n");
    for g in GLOBALS {
        out.push_str(&format!("  {:<28} {}\n", g.synopsis(), g.describe()));
    }
    out.push_str(&format!("  {:<28} {}\n", "-h, --help", "this text; 'alp COMMAND --help' describes one command"));
    out.push_str(&format!("  {:<28} {}\n", "-V, --version", "alp's version, commit and build date"));
    out
}

/// One command's help: argh's usage, options and example, then the global options that
/// apply to it.
pub fn command_help(name: &str) -> Option<String> {
    cli::command_info(name)?;
    let mut out = match Top::from_args(&["alp"], &[name, "--help"]) {
        Err(exit) => exit.output,
        Ok(_) => String::new(),
    };
    let applying: Vec<_> = GLOBALS.iter().filter(|g| g.applies_to(name)).collect();
    if !applying.is_empty() {
        out.push_str("\nGlobal Options:\n");
        for g in applying {
            out.push_str(&format!("  {:<28} {}\n", g.synopsis(), g.describe()));
        }
    }
    Some(out)
}

pub fn help(command: Option<&str>) -> Result<i32> {
    match command {
        None => print!("{}", overview()),
        Some(c) => {
            let name = cli::ALIASES.iter().find(|(from, _)| *from == c).map_or(c, |(_, to)| to);
            match command_help(name) {
                Some(text) => print!("{text}"),
                None => {
                    let hint = crate::suggest::did_you_mean(c, cli::command_names());
                    return Err(error::usage(format!("unknown command '{c}'{hint} ('alp help' lists them)")));
                }
            }
        }
    }
    Ok(0)
}

/// A command as help and completions show it.
struct CommandSummary {
    name: String,
    /// What it does.
    what: String,
    /// Options: long name, whether it takes a value.
    flags: Vec<(String, bool)>,
    /// What its arguments name, so completions can offer them.
    args: Args,
}

/// What a command's arguments are, for completing them.
#[derive(Clone, Copy, PartialEq)]
enum Args {
    /// Installed packages (`remove NAME...`, `files NAME`): from `alp installed`.
    Installed,
    /// Packages the repositories offer (`install REQ...`, `info NAME`): from the cached
    /// indexes (`alp --offline list`), so completing never waits on the network.
    Available,
    Other,
}

impl Args {
    /// A POSIX shell command (for bash and zsh) that prints one name per line: the first word
    /// of each line that does not start with a space (descriptions in `list` are indented).
    fn lister(self) -> Option<&'static str> {
        match self {
            Args::Installed => Some("alp -q installed 2>/dev/null | awk '/^[^ ]/ {print $1}'"),
            Args::Available => Some("alp -q --offline list 2>/dev/null | awk '/^[^ ]/ {print $1}'"),
            Args::Other => None,
        }
    }

    /// The same in fish.
    fn fish_lister(self) -> Option<&'static str> {
        match self {
            Args::Installed => Some("alp -q installed 2>/dev/null | string match -r \"^\\S+\""),
            Args::Available => Some("alp -q --offline list 2>/dev/null | string match -r \"^\\S+\""),
            Args::Other => None,
        }
    }
}

/// Every command, as `CommandSummary`.
fn commands() -> Vec<CommandSummary> {
    use argh::ArgsInfo;
    Top::get_args_info()
        .commands
        .into_iter()
        .map(|c| {
            let flags = c
                .command
                .flags
                .iter()
                .filter(|f| f.long != "--help")
                .map(|f| (f.long.to_string(), matches!(f.kind, FlagInfoKind::Option { .. })))
                .collect();
            // Told by the argument's field name in `cli`: `requests` are what can be installed,
            // `name(s)` what is installed (but `info` also shows what is not).
            let args = match c.command.positionals.first().map(|p| p.name) {
                Some("requests") => Args::Available,
                Some("name") if c.name == "info" => Args::Available,
                Some("name" | "names") => Args::Installed,
                _ => Args::Other,
            };
            CommandSummary { name: c.name.to_string(), what: describe(c.name), flags, args }
        })
        .collect()
}

fn global_longs() -> Vec<String> {
    GLOBALS.iter().flat_map(|g| std::iter::once(g.long).chain(g.aliases.iter().copied())).map(String::from).collect()
}

/// `alp completions bash|zsh|fish`: a script that completes commands, their options and
/// the global options.
pub fn completions(shell: &str) -> Result<i32> {
    let cmds = commands();
    let names: Vec<&str> = cmds.iter().map(|c| c.name.as_str()).collect();
    let globals = global_longs().join(" ");
    let script = match shell {
        "bash" => {
            let mut cases = String::new();
            for c in &cmds {
                let f: Vec<&str> = c.flags.iter().map(|f| f.0.as_str()).collect();
                let packages = c.args.lister().map(|l| format!(" $({l})")).unwrap_or_default();
                cases.push_str(&format!("        {}) opts=\"{} $globals{packages}\" ;;\n", c.name, f.join(" ")));
            }
            format!(
                "# bash completion for alp (alp completions bash)\n_alp() {{\n    local cur=\"${{COMP_WORDS[COMP_CWORD]}}\" cmd=\"\" w opts\n    local globals=\"{globals} --help\"\n    for w in \"${{COMP_WORDS[@]:1:COMP_CWORD-1}}\"; do\n        case \"$w\" in -*) ;; *) cmd=\"$w\"; break ;; esac\n    done\n    case \"$cmd\" in\n        \"\") opts=\"{} $globals\" ;;\n{cases}        *) opts=\"$globals\" ;;\n    esac\n    COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n}}\ncomplete -o default -F _alp alp\n",
                names.join(" ")
            )
        }
        "zsh" => {
            let mut out = String::from(
                "#compdef alp\n# zsh completion for alp (alp completions zsh)\n_alp() {\n  local -a cmds\n  cmds=(\n",
            );
            for c in &cmds {
                out.push_str(&format!("    '{}:{}'\n", c.name, c.what.replace('\'', "'\\''").replace(':', "\\:")));
            }
            out.push_str(
                "  )\n  if (( CURRENT == 2 )); then\n    _describe 'command' cmds\n  else\n    case $words[2] in\n",
            );
            for c in &cmds {
                let f: Vec<&str> = c.flags.iter().map(|f| f.0.as_str()).collect();
                let packages = c.args.lister().map(|l| format!(" ${{(f)\"$({l})\"}}")).unwrap_or_default();
                out.push_str(&format!("      {}) compadd -- {} {globals}{packages} ;;\n", c.name, f.join(" ")));
            }
            out.push_str("    esac\n    _files\n  fi\n}\n_alp \"$@\"\n");
            out
        }
        "fish" => {
            let mut out = String::from("# fish completion for alp (alp completions fish)\n");
            let all = names.join(" ");
            for c in &cmds {
                let name = &c.name;
                out.push_str(&format!(
                    "complete -c alp -n 'not __fish_seen_subcommand_from {all}' -f -a {name} -d '{}'\n",
                    c.what.replace('\'', "\\'")
                ));
                for (flag, takes_value) in &c.flags {
                    let r = if *takes_value { " -r" } else { "" };
                    out.push_str(&format!(
                        "complete -c alp -n '__fish_seen_subcommand_from {name}' -l {}{r}\n",
                        flag.trim_start_matches('-')
                    ));
                }
                if let Some(l) = c.args.fish_lister() {
                    out.push_str(&format!("complete -c alp -n '__fish_seen_subcommand_from {name}' -f -a '({l})'\n"));
                }
            }
            for g in GLOBALS {
                let short = g.short.map(|c| format!(" -s {c}")).unwrap_or_default();
                let r = if g.value.is_some() { " -r" } else { "" };
                out.push_str(&format!(
                    "complete -c alp -l {}{short}{r} -d '{}'\n",
                    g.long.trim_start_matches('-'),
                    g.help.replace('\'', "\\'")
                ));
            }
            out
        }
        other => {
            return Err(error::usage(format!("alp completions: unknown shell '{other}' (use bash, zsh or fish)")));
        }
    };
    print!("{script}");
    Ok(0)
}

/// Escapes text for roff.
fn roff(text: &str) -> String {
    let t = text.replace('\\', "\\e").replace('-', "\\-");
    if t.starts_with('.') || t.starts_with('\'') { format!("\\&{t}") } else { t }
}

/// `alp man`: the manual page, in roff, from the same tables as `help`.
pub fn man() -> Result<i32> {
    let mut out = format!(
        ".TH ALP 1 \"\" \"alp {}\" \"User Commands\"\n.SH NAME\nalp \\- install prebuilt packages from static repositories; a container entrypoint\n.SH SYNOPSIS\n.B alp\n[\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]\n.SH OPTIONS\nGlobal options may stand anywhere before a \\fB\\-\\-\\fR.\n",
        env!("CARGO_PKG_VERSION")
    );
    for g in GLOBALS {
        out.push_str(&format!(".TP\n.B {}\n{}\n", roff(&g.synopsis()), roff(&g.describe())));
    }
    out.push_str(".SH COMMANDS\n");
    for (group, cmds) in GROUPS {
        out.push_str(&format!(".SS {group}\n"));
        for synopsis in *cmds {
            let name = synopsis.split(' ').next().unwrap_or(synopsis);
            out.push_str(&format!(".TP\n.B alp {}\n{}\n", roff(synopsis), roff(&describe(name))));
            if let Some(info) = cli::command_info(name) {
                for f in info.flags.iter().filter(|f| f.long != "--help") {
                    let value = match f.kind {
                        FlagInfoKind::Option { arg_name } => format!(" {}", arg_name.to_uppercase()),
                        FlagInfoKind::Switch => String::new(),
                    };
                    out.push_str(&format!(
                        ".br\n\\fB{}\\fR{} \\(em {}\n",
                        roff(f.long),
                        roff(&value),
                        roff(f.description)
                    ));
                }
                for e in info.examples {
                    out.push_str(&format!(".br\nExample: \\fB{}\\fR\n", roff(&e.replace("{command_name}", "alp"))));
                }
            }
        }
    }
    out.push_str(".SH EXIT STATUS\n");
    for kind in crate::error::Kind::ALL {
        out.push_str(&format!(".TP\n.B {}\n{}\n", kind.exit_code(), roff(kind.meaning())));
    }
    out.push_str(".SH FILES\n.TP\n.I ROOT/etc/alp/\nrepositories, config.json, keys/*.pub, world\n.TP\n.I ROOT/var/lib/alp/installed.json\nthe installed database\n");
    print!("{out}");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_in_one_group_and_every_group_entry_is_a_command() {
        let grouped: Vec<&str> =
            GROUPS.iter().flat_map(|g| g.1.iter()).map(|s| s.split(' ').next().unwrap_or(s)).collect();
        for CommandSummary { name, what, .. } in commands() {
            assert!(grouped.contains(&name.as_str()), "{name} is in no group of 'alp help'");
            assert!(!what.is_empty(), "{name} has no description");
        }
        for name in grouped {
            assert!(cli::command_info(name).is_some(), "'{name}' in GROUPS is not a command");
        }
    }
}
