//! Global options: one table, from which parsing, `help`, each command's `--help`,
//! completions and the man page derive. A new global flag is one line here plus the code
//! that reads it (`Globals::on`, `Globals::value`).

/// Names a global option, for `Globals::on` and `Globals::value`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Id {
    Root,
    Repo,
    CacheDir,
    Arch,
    Json,
    Quiet,
    Verbose,
    Yes,
    Offline,
    Simulate,
    NoColor,
    AllowUntrusted,
    AllowSetuid,
}

/// Which commands a global option means something to (for their `--help`).
pub enum Applies {
    All,
    Only(&'static [&'static str]),
}

pub struct Global {
    pub id: Id,
    pub long: &'static str,
    pub short: Option<char>,
    /// Other long names (`--dry-run` for `--simulate`).
    pub aliases: &'static [&'static str],
    /// The value's name for an option that takes one (`DIR`); None for a switch.
    pub value: Option<&'static str>,
    /// The environment variable that sets it when the flag is absent.
    pub env: Option<&'static str>,
    pub help: &'static str,
    pub applies: Applies,
}

/// Commands that read repository indexes.
const INDEXED: &[&str] =
    &["update", "install", "upgrade", "list", "search", "info", "outdated", "lock", "init", "files"];
/// Commands that may install.
const INSTALLS: &[&str] = &["install", "upgrade", "init", "install-local"];
/// Commands with a plan to show instead of doing it.
const SIMULATES: &[&str] =
    &["install", "remove", "upgrade", "init", "install-local", "clean", "config", "migrate", "self-update"];

pub const GLOBALS: &[Global] = &[
    Global {
        id: Id::Root,
        long: "--root",
        short: None,
        aliases: &[],
        value: Some("DIR"),
        env: Some("ALP_ROOT"),
        help: "install root (default /)",
        applies: Applies::All,
    },
    Global {
        id: Id::Repo,
        long: "--repo",
        short: None,
        aliases: &[],
        value: Some("URL"),
        env: None,
        help: "add a repository URL or path (repeatable)",
        applies: Applies::Only(INDEXED),
    },
    Global {
        id: Id::CacheDir,
        long: "--cache-dir",
        short: None,
        aliases: &[],
        value: Some("DIR"),
        env: Some("ALP_CACHE_DIR"),
        help: "download cache directory (default ROOT/var/cache/alp)",
        applies: Applies::Only(&["install", "upgrade", "init", "update", "lock", "clean", "stats", "doctor"]),
    },
    Global {
        id: Id::Arch,
        long: "--arch",
        short: None,
        aliases: &[],
        value: Some("ARCH"),
        env: None,
        help: "install packages built for this arch (x86_64, aarch64; default: this binary's)",
        applies: Applies::Only(&["install", "upgrade", "init", "lock", "outdated"]),
    },
    Global {
        id: Id::Json,
        long: "--json",
        short: None,
        aliases: &[],
        value: None,
        env: None,
        help: "print one JSON document on stdout (errors too)",
        applies: Applies::All,
    },
    Global {
        id: Id::Quiet,
        long: "--quiet",
        short: Some('q'),
        aliases: &[],
        value: None,
        env: None,
        help: "print only errors",
        applies: Applies::All,
    },
    Global {
        id: Id::Verbose,
        long: "--verbose",
        short: Some('v'),
        aliases: &[],
        value: None,
        env: None,
        help: "say more on stderr: URLs fetched, cache hits, timings",
        applies: Applies::All,
    },
    Global {
        id: Id::Yes,
        long: "--yes",
        short: Some('y'),
        aliases: &[],
        value: None,
        env: None,
        help: "answer yes to any question",
        applies: Applies::Only(&["remove", "migrate"]),
    },
    Global {
        id: Id::Offline,
        long: "--offline",
        short: None,
        aliases: &[],
        value: None,
        env: Some("ALP_OFFLINE"),
        help: "use only the cache and kept indexes; no network",
        applies: Applies::Only(INDEXED),
    },
    Global {
        id: Id::Simulate,
        long: "--simulate",
        short: Some('n'),
        aliases: &["--dry-run"],
        value: None,
        env: None,
        help: "print the plan and change nothing",
        applies: Applies::Only(SIMULATES),
    },
    Global {
        id: Id::NoColor,
        long: "--no-color",
        short: None,
        aliases: &[],
        value: None,
        env: None,
        help: "no colour (also NO_COLOR)",
        applies: Applies::All,
    },
    Global {
        id: Id::AllowUntrusted,
        long: "--allow-untrusted",
        short: None,
        aliases: &[],
        value: None,
        env: None,
        help: "accept indexes that are unsigned or signed by an untrusted key",
        applies: Applies::Only(INDEXED),
    },
    Global {
        id: Id::AllowSetuid,
        long: "--allow-setuid",
        short: None,
        aliases: &[],
        value: None,
        env: None,
        help: "keep setuid/setgid bits from archives",
        applies: Applies::Only(INSTALLS),
    },
];

impl Global {
    /// `--root DIR` / `-q, --quiet` / `-n, --simulate, --dry-run`, for help texts.
    pub fn synopsis(&self) -> String {
        let mut names: Vec<String> = self.short.iter().map(|c| format!("-{c}")).collect();
        names.push(self.long.to_string());
        names.extend(self.aliases.iter().map(|a| a.to_string()));
        let value = self.value.map(|v| format!(" {v}")).unwrap_or_default();
        format!("{}{value}", names.join(", "))
    }

    /// The help line, with its environment variable.
    pub fn describe(&self) -> String {
        match self.env {
            Some(env) => format!("{} (also ${env})", self.help),
            None => self.help.to_string(),
        }
    }

    pub fn applies_to(&self, command: &str) -> bool {
        match self.applies {
            Applies::All => true,
            Applies::Only(list) => list.contains(&command),
        }
    }

    /// Whether `arg` names this option (long, alias or short).
    pub fn is(&self, arg: &str) -> bool {
        arg == self.long
            || self.aliases.contains(&arg)
            || self.short.is_some_and(|c| arg.len() == 2 && arg.starts_with('-') && arg.ends_with(c))
    }
}

/// Looks up a global option by how it was written.
pub fn find(arg: &str) -> Option<&'static Global> {
    GLOBALS.iter().find(|g| g.is(arg))
}

/// The global options given on a command line.
#[derive(Debug, Default, Clone)]
pub struct Globals {
    on: Vec<Id>,
    values: Vec<(Id, String)>,
}

impl Globals {
    pub fn set(&mut self, id: Id) {
        self.on.push(id);
    }

    pub fn push(&mut self, id: Id, value: String) {
        self.values.push((id, value));
    }

    /// A switch given on the command line, or its environment variable set to 1/true.
    pub fn on(&self, id: Id) -> bool {
        self.on.contains(&id) || env_of(id).is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
    }

    /// An option's last value on the command line, else its environment variable.
    pub fn value(&self, id: Id) -> Option<String> {
        self.values.iter().rev().find(|(i, _)| *i == id).map(|(_, v)| v.clone()).or_else(|| env_of(id))
    }

    /// Every value of a repeatable option, in order.
    pub fn values(&self, id: Id) -> Vec<String> {
        self.values.iter().filter(|(i, _)| *i == id).map(|(_, v)| v.clone()).collect()
    }
}

fn env_of(id: Id) -> Option<String> {
    let env = GLOBALS.iter().find(|g| g.id == id)?.env?;
    std::env::var(env).ok()
}
