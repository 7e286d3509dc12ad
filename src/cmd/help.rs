//! `alp help`: every command on one line, grouped as the old tool grouped them.

use crate::error::{self, Result};

const GROUPS: &[(&str, &[(&str, &str)])] = &[
    (
        "Packages",
        &[
            ("update", "fetch and verify every repository's index"),
            ("install REQ...", "install packages (jq, jq>=1.7) or local archives (./x.tar.gz)"),
            ("remove NAME...", "remove packages (--cascade: and what depends on them)"),
            ("upgrade [NAME...]", "upgrade installed packages to their newest versions"),
            ("list [CATEGORY]", "list available packages"),
            ("installed", "list installed packages"),
            ("search TERM", "search names and descriptions"),
            ("info NAME", "show a package's metadata and dependencies"),
        ],
    ),
    (
        "Building repositories",
        &[
            ("build DIR", "make a package archive from a directory (alias: compile)"),
            ("index DIR", "write DIR/index.json for the archives in DIR (--sign KEY signs it)"),
            ("install-local FILE", "install an old .alp package (or a .tar.gz)"),
            ("lock REQ... -o FILE", "pin exact versions, URLs and sha256 for reproducible starts"),
        ],
    ),
    (
        "Trust",
        &[
            ("key generate", "make a minisign key pair"),
            ("sign FILE", "sign a file (writes FILE.minisig)"),
            ("verify FILE", "check FILE.minisig against a key or the trusted keys"),
            ("cert-create [DIR]", "make a signing key pair; sign DIR/index.json"),
            ("cert-info NAME", "which key signed the index a package came from"),
            ("cert-scan URL", "check a repository's index signature"),
            ("publish DIR oci://…", "push a repository directory to an OCI registry"),
        ],
    ),
    (
        "System",
        &[
            ("stats", "packages, disk used, cache size, last update"),
            ("doctor", "check installed files, dependencies, leftovers; non-zero on problems"),
            ("clean [--all]", "empty the download cache (--all: kept indexes too)"),
            ("config [get K|set K V]", "show or change settings"),
            ("migrate [--from DIR]", "bring records and settings over from the old ~/.alp"),
            ("self-update", "replace alp with the newest signed release"),
        ],
    ),
    ("Containers", &[("init [--] CMD...", "install what the container declares, then run CMD as PID 1")]),
];

pub fn overview() -> String {
    let mut out = String::from(
        "alp: install prebuilt packages from static repositories\n\nUsage: alp [OPTIONS] COMMAND [ARGS]\n",
    );
    for (group, cmds) in GROUPS {
        out.push_str(&format!("\n{group}:\n"));
        for (c, what) in *cmds {
            out.push_str(&format!("  {c:<22} {what}\n"));
        }
    }
    out.push_str(
        "\nOptions: --root DIR, --repo URL, --cache-dir DIR, --json, --quiet, --yes, --offline,\n         --simulate, --no-color, --allow-untrusted, --allow-setuid, --version\n\
         'alp COMMAND --help' describes one command.\n",
    );
    out
}

pub fn help(command: Option<&str>) -> Result<i32> {
    match command {
        None => print!("{}", overview()),
        Some(c) => {
            let found = GROUPS.iter().flat_map(|g| g.1.iter()).find(|(name, _)| name.split(' ').next() == Some(c));
            match found {
                Some((name, what)) => println!("alp {name}\n  {what}\n(see 'alp {c} --help' for its options)"),
                None => return Err(error::usage(format!("unknown command '{c}'; 'alp help' lists them"))),
            }
        }
    }
    Ok(0)
}
