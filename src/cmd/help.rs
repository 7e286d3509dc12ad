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

/// A command's name, what it does, and its options (long name, whether it takes a value).
type CommandSummary = (String, String, Vec<(String, bool)>);

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
            (c.name.to_string(), describe(c.name), flags)
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
    let names: Vec<&str> = cmds.iter().map(|c| c.0.as_str()).collect();
    let globals = global_longs().join(" ");
    let script = match shell {
        "bash" => {
            let mut cases = String::new();
            for (name, _, flags) in &cmds {
                let f: Vec<&str> = flags.iter().map(|f| f.0.as_str()).collect();
                cases.push_str(&format!("        {name}) opts=\"{} $globals\" ;;\n", f.join(" ")));
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
            for (name, what, _) in &cmds {
                out.push_str(&format!("    '{name}:{}'\n", what.replace('\'', "'\\''").replace(':', "\\:")));
            }
            out.push_str(
                "  )\n  if (( CURRENT == 2 )); then\n    _describe 'command' cmds\n  else\n    case $words[2] in\n",
            );
            for (name, _, flags) in &cmds {
                let f: Vec<&str> = flags.iter().map(|f| f.0.as_str()).collect();
                out.push_str(&format!("      {name}) compadd -- {} {globals} ;;\n", f.join(" ")));
            }
            out.push_str("    esac\n    _files\n  fi\n}\n_alp \"$@\"\n");
            out
        }
        "fish" => {
            let mut out = String::from("# fish completion for alp (alp completions fish)\n");
            let all = names.join(" ");
            for (name, what, flags) in &cmds {
                out.push_str(&format!(
                    "complete -c alp -n 'not __fish_seen_subcommand_from {all}' -f -a {name} -d '{}'\n",
                    what.replace('\'', "\\'")
                ));
                for (flag, takes_value) in flags {
                    let r = if *takes_value { " -r" } else { "" };
                    out.push_str(&format!(
                        "complete -c alp -n '__fish_seen_subcommand_from {name}' -l {}{r}\n",
                        flag.trim_start_matches('-')
                    ));
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
        for (name, what, _) in commands() {
            assert!(grouped.contains(&name.as_str()), "{name} is in no group of 'alp help'");
            assert!(!what.is_empty(), "{name} has no description");
        }
        for name in grouped {
            assert!(cli::command_info(name).is_some(), "'{name}' in GROUPS is not a command");
        }
    }
}
