//! From the words after `alp` to a command. Global options are taken from anywhere before a
//! `--` (and before init's command), combined short flags are split (`-qy`), old command
//! names are mapped, `-h`/`--help`/`--version` work anywhere; unknown commands and options
//! get the closest match, and missing arguments are named, before argh parses the rest.

use super::globals::{self, Globals};
use super::{Command, Top};
use crate::error::{self, Result};
use crate::suggest;
use argh::{ArgsInfo, FromArgs, SubCommands};
use argh::{CommandInfoWithArgs, FlagInfoKind, Optionality};
use std::collections::VecDeque;

pub enum Parsed {
    Run(Globals, Box<Command>),
    /// Help on one command, or the overview.
    Help(Option<String>),
    Version,
}

/// Old and alternative command names.
pub const ALIASES: &[(&str, &str)] =
    &[("compile", "build"), ("add", "install"), ("del", "remove"), ("uninstall", "remove")];

/// Whether the line asks for `--json` (for the error document when parsing itself fails).
pub fn wants_json(args: &[String]) -> bool {
    args.iter().take_while(|a| *a != "--").any(|a| a == "--json")
}

/// Every command name, aliases included.
pub fn command_names() -> impl Iterator<Item = &'static str> {
    <Command as SubCommands>::COMMANDS.iter().map(|c| c.name).chain(ALIASES.iter().map(|a| a.0)).chain(["help"])
}

/// The argh description of one command (options, positionals, example).
pub fn command_info(name: &str) -> Option<CommandInfoWithArgs> {
    Top::get_args_info().commands.into_iter().find(|c| c.name == name).map(|c| c.command)
}

#[derive(Default)]
struct Split {
    globals: Globals,
    words: Vec<String>,
    help: bool,
    version: bool,
}

pub fn parse(args: &[String]) -> Result<Parsed> {
    let split = split(args)?;
    if split.version {
        return Ok(Parsed::Version);
    }
    let Some(cmd) = split.words.first().cloned() else {
        if split.help {
            return Ok(Parsed::Help(None));
        }
        return Err(error::usage("missing COMMAND; 'alp help' lists them"));
    };
    match cmd.as_str() {
        "help" => return Ok(Parsed::Help(split.words.get(1).cloned())),
        "version" => return Ok(Parsed::Version),
        _ => {}
    }
    if cmd.starts_with('-') {
        let known = globals::GLOBALS.iter().map(|g| g.long);
        let hint = suggest::did_you_mean(&cmd, known);
        return Err(error::usage(format!("unknown option '{cmd}'{hint} ('alp help' lists the options)")));
    }
    let Some(info) = command_info(&cmd) else {
        let hint = suggest::did_you_mean(&cmd, command_names());
        return Err(error::usage(format!("unknown command '{cmd}'{hint} ('alp help' lists the commands)")));
    };
    if split.help {
        return Ok(Parsed::Help(Some(cmd)));
    }
    check_arguments(&cmd, &info, &split.words[1..])?;
    let refs: Vec<&str> = split.words.iter().map(String::as_str).collect();
    match Top::from_args(&["alp"], &refs) {
        Ok(top) => Ok(Parsed::Run(split.globals, Box::new(top.command))),
        Err(exit) if exit.status.is_ok() => Ok(Parsed::Help(Some(cmd))),
        Err(exit) => {
            let first = exit.output.lines().next().unwrap_or("bad arguments").trim().to_string();
            Err(error::usage(format!("alp {cmd}: {first}; see 'alp {cmd} --help'")))
        }
    }
}

/// Names what is missing or unknown on a command's line, in words argh does not have.
fn check_arguments(cmd: &str, info: &CommandInfoWithArgs, args: &[String]) -> Result<()> {
    let mut given = 0;
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            given += args.len() - i - 1;
            break;
        }
        if a.starts_with('-') && a.len() > 1 && a.parse::<f64>().is_err() {
            let flag = info.flags.iter().find(|f| f.long == a || f.short.is_some_and(|c| *a == format!("-{c}")));
            match flag {
                Some(f) if matches!(f.kind, FlagInfoKind::Option { .. }) => i += 1,
                Some(_) => {}
                None => {
                    let known = info.flags.iter().map(|f| f.long).chain(globals::GLOBALS.iter().map(|g| g.long));
                    let hint = suggest::did_you_mean(a, known);
                    return Err(error::usage(format!(
                        "alp {cmd}: unknown option '{a}'{hint} (see 'alp {cmd} --help')"
                    )));
                }
            }
        } else {
            given += 1;
        }
        i += 1;
    }
    let required: Vec<_> = info.positionals.iter().filter(|p| p.optionality == Optionality::Required).collect();
    if given < required.len() {
        let missing: Vec<String> =
            required[given..].iter().map(|p| format!("{}, {}", p.name.to_uppercase(), p.description.trim())).collect();
        return Err(error::usage(format!("alp {cmd}: missing {}; see 'alp {cmd} --help'", missing.join("; "))));
    }
    Ok(())
}

fn split(args: &[String]) -> Result<Split> {
    let mut out = Split::default();
    let mut queue: VecDeque<String> = args.iter().cloned().collect();
    let mut command: Option<String> = None;
    // The command's own options win over global ones of the same name (`index --arch`,
    // `index --version`).
    let mut own: &[argh::FlagInfo] = &[];
    while let Some(a) = queue.pop_front() {
        if a == "--" {
            out.words.push(a);
            out.words.extend(queue.drain(..));
            break;
        }
        if let Some(f) =
            own.iter().find(|f| f.long != "--help" && (f.long == a || f.short.is_some_and(|c| a == format!("-{c}"))))
        {
            out.words.push(a);
            if matches!(f.kind, FlagInfoKind::Option { .. })
                && let Some(v) = queue.pop_front()
            {
                out.words.push(v);
            }
            continue;
        }
        if take_special(&a, &mut out) || take_global(&a, &mut queue, &mut out.globals)? {
            continue;
        }
        if let Some(parts) = split_shorts(&a, command.as_deref()) {
            parts.into_iter().rev().for_each(|p| queue.push_front(p));
            continue;
        }
        if command.is_none() && !a.starts_with('-') {
            let name = ALIASES.iter().find(|(from, _)| *from == a).map_or(a.as_str(), |(_, to)| to).to_string();
            out.words.push(name.clone());
            if name == "init" {
                init_tail(&mut queue, &mut out)?;
                break;
            }
            own = command_info(&name).map(|i| i.flags).unwrap_or(&[]);
            command = Some(name);
            continue;
        }
        out.words.push(a);
    }
    Ok(out)
}

/// `-h`, `--help`, `--version`, `-V`: true when `a` was one.
fn take_special(a: &str, out: &mut Split) -> bool {
    match a {
        "-h" | "--help" => out.help = true,
        "--version" | "-V" => out.version = true,
        _ => return false,
    }
    true
}

/// A global option (`--root DIR`, `--root=DIR`, `-q`): recorded, true.
fn take_global(a: &str, queue: &mut VecDeque<String>, globals: &mut Globals) -> Result<bool> {
    if let Some((flag, value)) = a.split_once('=').filter(|(f, _)| f.starts_with("--")) {
        let Some(g) = globals::find(flag) else { return Ok(false) };
        if g.value.is_none() {
            return Err(error::usage(format!("{flag} takes no value")));
        }
        globals.push(g.id, value.to_string());
        return Ok(true);
    }
    let Some(g) = globals::find(a) else { return Ok(false) };
    match g.value {
        None => globals.set(g.id),
        Some(name) => {
            let value = queue.pop_front().ok_or_else(|| error::usage(format!("{} needs a value ({name})", g.long)))?;
            globals.push(g.id, value);
        }
    }
    Ok(true)
}

/// `-qy` → `-q -y`, when every letter is a short flag (global, or the command's own); only
/// the last may take a value.
fn split_shorts(a: &str, command: Option<&str>) -> Option<Vec<String>> {
    let letters = a.strip_prefix('-').filter(|l| l.len() > 1 && l.chars().all(|c| c.is_ascii_alphabetic()))?;
    let own: &[argh::FlagInfo] = command.and_then(command_info).map(|i| i.flags).unwrap_or(&[]);
    let count = letters.chars().count();
    for (n, c) in letters.chars().enumerate() {
        let global = globals::GLOBALS.iter().find(|g| g.short == Some(c));
        let takes_value = match (global, own.iter().find(|f| f.short == Some(c))) {
            (Some(g), _) => g.value.is_some(),
            (None, Some(f)) => matches!(f.kind, FlagInfoKind::Option { .. }),
            (None, None) => return None,
        };
        if takes_value && n + 1 < count {
            return None;
        }
    }
    Some(letters.chars().map(|c| format!("-{c}")).collect())
}

/// init's options run until its first positional, which starts the command: a `--` goes in
/// front of it so argh never reads the command's own flags. Global options among init's
/// are taken out like anywhere else.
fn init_tail(queue: &mut VecDeque<String>, out: &mut Split) -> Result<()> {
    let info = <super::Init as ArgsInfo>::get_args_info();
    let takes_value = |t: &str| {
        info.flags.iter().any(|f| {
            matches!(f.kind, FlagInfoKind::Option { .. })
                && (f.long == t || f.short.is_some_and(|c| t == format!("-{c}")))
        })
    };
    while let Some(t) = queue.pop_front() {
        if t == "--" {
            out.words.push(t);
            break;
        }
        if !t.starts_with('-') {
            out.words.push("--".to_string());
            out.words.push(t);
            break;
        }
        if take_special(&t, out) || take_global(&t, queue, &mut out.globals)? {
            continue;
        }
        if let Some(parts) = split_shorts(&t, Some("init")) {
            parts.into_iter().rev().for_each(|p| queue.push_front(p));
            continue;
        }
        let value = takes_value(&t);
        out.words.push(t);
        if value && let Some(v) = queue.pop_front() {
            out.words.push(v);
        }
    }
    out.words.extend(queue.drain(..));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Id;

    fn words(args: &[&str]) -> (Vec<String>, Globals) {
        let s = split(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        (s.words, s.globals)
    }

    #[test]
    fn globals_come_out_wherever_they_stand() {
        let (w, g) = words(&["install", "jq", "--root", "/x", "-qy"]);
        assert_eq!(w, ["install", "jq"]);
        assert_eq!(g.value(Id::Root).as_deref(), Some("/x"));
        assert!(g.on(Id::Quiet) && g.on(Id::Yes));
        let (w, g) = words(&["compile", "dir", "--root=/r", "--dry-run"]);
        assert_eq!(w, ["build", "dir"]);
        assert!(g.on(Id::Simulate));
    }

    #[test]
    fn a_command_option_wins_over_a_global_of_the_same_name() {
        let (w, g) = words(&["index", "r", "--add", "x", "--version", "2.0", "--arch", "x86_64", "-q"]);
        assert_eq!(w, ["index", "r", "--add", "x", "--version", "2.0", "--arch", "x86_64"]);
        assert!(g.on(Id::Quiet) && g.value(Id::Arch).is_none());
    }

    #[test]
    fn init_command_is_left_alone() {
        assert_eq!(words(&["init", "-g", "sh", "-c", "x --root y"]).0, ["init", "-g", "--", "sh", "-c", "x --root y"]);
        assert_eq!(words(&["init", "--root", "/r", "--", "a", "--json"]).0, ["init", "--", "a", "--json"]);
        assert_eq!(words(&["init"]).0, ["init"]);
        assert_eq!(
            words(&["init", "--grace", "1", "--term-delay", "2", "--wait-all", "sleep", "5"]).0,
            ["init", "--grace", "1", "--term-delay", "2", "--wait-all", "--", "sleep", "5"]
        );
        assert_eq!(words(&["init", "-qg", "sleep", "5"]).0, ["init", "-g", "--", "sleep", "5"]);
    }
}
