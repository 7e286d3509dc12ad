//! `init`: make sure the declared packages are installed, then hand over to the PID 1
//! supervisor. The fast path (all satisfied) reads the database and nothing else.

use crate::cli::Init;
use crate::ctx::Ctx;
use crate::db::state::Db;
use crate::error::{self, Result};
use crate::repo::Candidate;
use crate::txn::{self, Install, Origin, Plan};
use crate::version::Req;
use crate::{lockfile, ui, world};
use std::time::Duration;

/// What the container declares: a lock, `--packages`, `ALP_PACKAGES`, or the world file.
enum Wanted {
    Locked(Vec<Candidate>),
    Requests(Vec<Req>),
}

impl Wanted {
    fn len(&self) -> usize {
        match self {
            Wanted::Locked(c) => c.len(),
            Wanted::Requests(r) => r.len(),
        }
    }

    /// Marks in `met` each wanted entry that the installed package `name` satisfies.
    fn mark(&self, met: &mut [bool], name: &str, version: &str, sha256: &str) {
        for (i, met) in met.iter_mut().enumerate() {
            *met |= match self {
                Wanted::Locked(c) => {
                    let p = &c[i].pkg;
                    p.name == name && p.version == version && p.sha256 == sha256
                }
                Wanted::Requests(r) => r[i].name == name && r[i].matches(version),
            };
        }
    }
}

fn wanted(ctx: &Ctx, args: &Init) -> Result<Wanted> {
    if let Some(lock) = &args.lock {
        return Ok(Wanted::Locked(lockfile::read(std::path::Path::new(lock))?));
    }
    // Set but empty (`ENV ALP_PACKAGES=""`) means not declared: the world file applies.
    let declared =
        args.packages.clone().or_else(|| std::env::var("ALP_PACKAGES").ok()).filter(|l| !l.trim().is_empty());
    Ok(Wanted::Requests(match declared {
        Some(list) => {
            list.split([' ', ',', '\n', '\t']).filter(|s| !s.is_empty()).map(Req::parse).collect::<Result<_>>()?
        }
        None => world::read(&ctx.paths)?,
    }))
}

/// True when the database already holds what is wanted: the fast path. Reads the
/// database file and nothing else (no index, no network, no lock), and skims it rather than
/// building the whole database, so its cost does not grow with every file packages install.
fn already_installed(ctx: &Ctx, wanted: &Wanted) -> Result<bool> {
    if wanted.len() == 0 {
        return Ok(true);
    }
    // A commit an earlier run left unfinished: the install path takes the lock and finishes it.
    if ctx.paths.journal().exists() {
        return Ok(false);
    }
    let path = ctx.paths.db();
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(error::io_at("reading the database", &path, e)),
    };
    let length = file.metadata().map(|m| m.len()).ok();
    let mut met = vec![false; wanted.len()];
    if skim::installed(file, length, |name, version, sha256| wanted.mark(&mut met, name, version, sha256)) {
        return Ok(met.iter().all(|m| *m));
    }
    // Not in the shape alp writes: the full reader accepts it or says what is wrong.
    met.fill(false);
    for p in Db::load(&ctx.paths)?.packages.values() {
        wanted.mark(&mut met, &p.meta.name, &p.meta.version, &p.meta.sha256);
    }
    Ok(met.iter().all(|m| *m))
}

fn ensure(ctx: &Ctx, wanted: &Wanted) -> Result<()> {
    ctx.config()?; // a broken config.json stops the install before it takes the lock
    match wanted {
        Wanted::Requests(reqs) => {
            let reqs: Vec<String> = reqs.iter().map(Req::to_string).collect();
            crate::cmd::install::install(ctx, &reqs).and_then(|code| {
                if code == 0 { Ok(()) } else { Err(error::io_msg("installing the declared packages failed")) }
            })
        }
        Wanted::Locked(cands) => {
            let _lock = ctx.lock()?;
            let db = Db::load(&ctx.paths)?;
            let installs = cands
                .iter()
                .filter(|c| {
                    !db.packages
                        .get(&c.pkg.name)
                        .is_some_and(|p| p.meta.version == c.pkg.version && p.meta.sha256 == c.pkg.sha256)
                })
                .map(|c| Install {
                    pkg: c.pkg.clone(),
                    origin: Origin::Repo(Box::new(c.clone())),
                    replaces: db.packages.get(&c.pkg.name).map(|p| p.meta.version.clone()),
                })
                .collect();
            let reqs: Vec<Req> = cands
                .iter()
                .map(|c| Req::parse(&format!("{}={}", c.pkg.name, c.pkg.version)))
                .collect::<Result<_>>()?;
            let plan = Plan { installs, removes: Vec::new(), world: world::Change { add: reqs, drop: Vec::new() } };
            let outcome = txn::execute(ctx, &plan)?;
            match outcome.hook_errors.into_iter().next() {
                Some(e) => Err(e),
                None => Ok(()),
            }
        }
    }
}

pub fn init(ctx: &Ctx, args: &Init) -> Result<i32> {
    let wanted = wanted(ctx, args)?;
    let opts = crate::init::Options {
        group: args.group,
        expect: args.expect.clone(),
        grace: seconds_setting(args.grace, "ALP_GRACE")?.unwrap_or(crate::init::DEFAULT_GRACE),
        term_delay: seconds_setting(args.term_delay, "ALP_TERM_DELAY")?.unwrap_or_default(),
        wait_all: args.wait_all,
    };
    if !already_installed(ctx, &wanted)? {
        crate::init::stoppable_while_installing();
        if let Err(e) = ensure(ctx, &wanted) {
            let e = e.context("alp init could not install the declared packages");
            // Without a command, installing is the whole job: its failure is the result.
            if !args.keep_going || args.command.is_empty() {
                return Err(e);
            }
            ui::error(&format!("{} (starting the command anyway: --keep-going)", e.msg));
        }
    }
    if args.command.is_empty() {
        return Ok(0);
    }
    ctx.flush_log();
    // The container's whole life follows: no kept connection should outlive the installing.
    crate::fetch::client::close_idle();
    Ok(crate::init::run(&args.command, &opts))
}

/// A duration flag, else its environment variable (set but empty counts as unset, as for
/// `ALP_PACKAGES`). A bad value stops the start before the command runs.
fn seconds_setting(flag: Option<Duration>, env: &str) -> Result<Option<Duration>> {
    if flag.is_some() {
        return Ok(flag);
    }
    match std::env::var(env) {
        Ok(text) if !text.trim().is_empty() => {
            crate::cli::seconds(&text).map(Some).map_err(|e| error::usage(format!("environment variable {env}: {e}")))
        }
        _ => Ok(None),
    }
}

/// `alp lock REQ... -o FILE`: resolve as on an empty root and pin the whole closure.
pub fn lock(ctx: &Ctx, requests: &[String], output: &str) -> Result<i32> {
    if requests.is_empty() {
        return Err(error::usage("lock needs at least one package"));
    }
    let reqs: Vec<Req> = requests.iter().map(|r| Req::parse(r)).collect::<Result<_>>()?;
    let cands = crate::repo::candidates(&ctx.load_indexes()?);
    let empty = Db::default();
    let steps = crate::resolve::Resolver::for_arch(&cands, &empty, true, &ctx.arch).plan(
        &reqs,
        crate::resolve::Policy::PreferInstalled,
        &[],
    )?;
    let pinned: Vec<Candidate> = steps.into_iter().map(|s| s.cand).collect();
    let text = lockfile::to_json(&pinned);
    if output == "-" {
        println!("{text}");
    } else if ctx.simulate {
        println!("would write {output} ({} packages)", pinned.len());
    } else {
        crate::fsutil::write_atomic(std::path::Path::new(output), text.as_bytes())?;
        ui::status(&format!("wrote {output} ({} packages)", pinned.len()));
    }
    Ok(0)
}

/// Reading `installed.json` for the fast path without building the database. alp writes it
/// as format, length, summary (each package's version and sha256), then the packages: the
/// skim reads through a small fixed buffer up to the end of the summary and stops, once the
/// length matches the file's size. A database from before the summary is skimmed whole,
/// skipping everything but names, versions and sha256s. Either way neither memory nor page
/// faults grow with the files packages installed. Anything unexpected gives `None`, and the
/// caller falls back to `Db::load`, the one real reader, which accepts the file or explains
/// what is wrong.
mod skim {
    use std::io::Read;

    const FORMAT: &str = "alp-db-1";
    /// One page: the summary of a few dozen packages fits in one read, and a buffer that the
    /// fast path zeroes costs a page fault per page on a fresh stack.
    const CHUNK: usize = 4 * 1024;

    /// Hands each installed package's name, version and sha256 to `each`, in place (nothing
    /// is collected). False when the text is not a database as alp writes it (or cannot be
    /// read to its end): the caller then forgets what it was handed and asks the full reader.
    /// `length` is the file's size on disk.
    pub fn installed(src: impl Read, length: Option<u64>, mut each: impl FnMut(&str, &str, &str)) -> bool {
        let mut p = Parser { src, buf: [0; CHUNK], at: 0, end: 0 };
        let (mut format_ok, mut length_ok, mut packages_seen) = (false, false, false);
        let mut summary_read = false;
        let mut value = Vec::new();
        let whole = p.object(|p, key| match key {
            "format" => {
                format_ok = p.str_into(&mut value)? == FORMAT;
                Some(())
            }
            // The length alp wrote: a file cut short or added to is not skimmed.
            "length" => {
                let written = p.str_into(&mut value)?.parse::<u64>().ok();
                length_ok = written.is_some() && written == length;
                length_ok.then_some(())
            }
            // Written after the format and length: with it read, the rest (file lists) is
            // not needed.
            "summary" if format_ok && length_ok && !packages_seen => {
                p.pinned(&mut each)?;
                summary_read = true;
                None // stop reading here
            }
            "packages" => {
                packages_seen = true;
                p.pinned(&mut each)
            }
            _ => p.skip_value(),
        });
        if summary_read {
            return true;
        }
        if whole.is_none() {
            return false;
        }
        p.ws();
        format_ok && !p.fill()
    }

    /// Where the first `"` or `\\` in `s` is.
    fn find_quote_or_backslash(s: &[u8]) -> Option<usize> {
        s.iter().position(|&c| c == b'"' || c == b'\\')
    }

    struct Parser<R> {
        src: R,
        buf: [u8; CHUNK],
        at: usize,
        end: usize,
    }

    impl<R: Read> Parser<R> {
        /// Makes at least one unread byte available; false at the end (or on a read error,
        /// which the full reader will then report).
        fn fill(&mut self) -> bool {
            while self.at == self.end {
                match self.src.read(&mut self.buf) {
                    Ok(0) => return false,
                    Ok(n) => (self.at, self.end) = (0, n),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => return false,
                }
            }
            true
        }

        #[inline(always)]
        fn next_raw(&mut self) -> Option<u8> {
            if self.at < self.end {
                return self.buf.get(self.at).copied();
            }
            self.fill().then(|| self.buf[self.at])
        }

        fn ws(&mut self) {
            while matches!(self.next_raw(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
                self.at += 1;
            }
        }

        fn peek(&mut self) -> Option<u8> {
            self.ws();
            self.next_raw()
        }

        fn eat(&mut self, c: u8) -> Option<()> {
            (self.peek()? == c).then(|| self.at += 1)
        }

        /// A string with no escapes in it (names, versions and digests never need any; a
        /// string that has some sends the caller to the full reader), read into `out`, which
        /// is emptied first: callers keep one buffer per kind of string and reuse it.
        fn str_into<'o>(&mut self, out: &'o mut Vec<u8>) -> Option<&'o str> {
            self.eat(b'"')?;
            out.clear();
            loop {
                if !self.fill() {
                    return None;
                }
                let rest = &self.buf[self.at..self.end];
                match find_quote_or_backslash(rest) {
                    Some(i) if rest[i] == b'"' => {
                        out.extend_from_slice(&rest[..i]);
                        self.at += i + 1;
                        let out: &'o Vec<u8> = out;
                        return std::str::from_utf8(out).ok();
                    }
                    Some(_) => return None,
                    None => {
                        out.extend_from_slice(rest);
                        self.at = self.end;
                    }
                }
            }
        }

        /// Moves past the closing quote of a string whose opening quote was just consumed.
        fn skip_str_body(&mut self) -> Option<()> {
            loop {
                if !self.fill() {
                    return None;
                }
                let rest = &self.buf[self.at..self.end];
                match find_quote_or_backslash(rest) {
                    Some(i) => {
                        let quote = rest[i] == b'"';
                        self.at += i + 1;
                        if quote {
                            return Some(());
                        }
                        self.next_raw()?; // the escaped character
                        self.at += 1;
                    }
                    None => self.at = self.end,
                }
            }
        }

        /// Skips one value of any kind in one tight pass (this is where the time goes: file
        /// lists). Nesting is counted, not recursed into, so no input can exhaust the stack.
        fn skip_value(&mut self) -> Option<()> {
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return self.skip_str_body();
                }
                b'{' | b'[' => {}
                _ => {
                    let mut any = false;
                    while self.next_raw().is_some_and(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c)) {
                        self.at += 1;
                        any = true;
                    }
                    return any.then_some(());
                }
            }
            // From one bracket or quote to the next, a buffer at a time.
            let mut depth = 0usize;
            loop {
                if !self.fill() {
                    return None;
                }
                let rest = &self.buf[self.at..self.end];
                let Some(i) = rest.iter().position(|&c| matches!(c, b'"' | b'{' | b'[' | b'}' | b']')) else {
                    self.at = self.end;
                    continue;
                };
                let c = rest[i];
                self.at += i + 1;
                match c {
                    b'"' => self.skip_str_body()?,
                    b'{' | b'[' => depth += 1,
                    _ => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(());
                        }
                    }
                }
            }
        }

        /// An object of package name → object with (at least) "version" and maybe "sha256":
        /// the shape of both "summary" and "packages".
        fn pinned(&mut self, each: &mut impl FnMut(&str, &str, &str)) -> Option<()> {
            let (mut version, mut sha256) = (Vec::new(), Vec::new());
            self.object(|p, name| {
                let mut has_version = false;
                sha256.clear();
                p.object(|p, field| match field {
                    "version" => {
                        has_version = p.str_into(&mut version).is_some();
                        has_version.then_some(())
                    }
                    "sha256" => p.str_into(&mut sha256).map(drop),
                    _ => p.skip_value(),
                })?;
                has_version.then_some(())?;
                // Both were checked as UTF-8 when read.
                each(name, std::str::from_utf8(&version).ok()?, std::str::from_utf8(&sha256).ok()?);
                Some(())
            })
        }

        /// An object, handing each member's key to `member`, which must consume the value.
        fn object(&mut self, mut member: impl FnMut(&mut Self, &str) -> Option<()>) -> Option<()> {
            self.eat(b'{')?;
            if self.peek()? == b'}' {
                self.at += 1;
                return Some(());
            }
            let mut key_buf = Vec::new();
            loop {
                let key = self.str_into(&mut key_buf)?;
                self.eat(b':')?;
                member(self, key)?;
                match self.peek()? {
                    b',' => self.at += 1,
                    b'}' => {
                        self.at += 1;
                        return Some(());
                    }
                    _ => return None,
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// "name=version:sha256" for each package the skim hands out, if it accepts the text.
        fn collect(src: impl std::io::Read, length: Option<u64>) -> Option<Vec<String>> {
            let mut out = Vec::new();
            installed(src, length, |n, v, s| out.push(format!("{n}={v}:{s}"))).then_some(out)
        }

        fn names(text: &str) -> Option<Vec<String>> {
            collect(text.as_bytes(), Some(text.len() as u64))
        }

        #[test]
        fn reads_what_the_database_writes() {
            let text = r#"{"format":"alp-db-1","packages":{"jq":{"name":"jq","version":"1.7.1","sha256":"ab",
                "files":[{"path":"usr/bin/jq","sha256":"cd","mode":493}],"dirs":["usr","usr/bin"],"size":12,
                "nested":{"a":[1,-2.5e3,true,null,{"b":"x\\\"}"}]}},
                "ü-less":{"version":"2","depends":["x>=1"]}}}"#;
            assert_eq!(names(text).unwrap(), ["jq=1.7.1:ab", "ü-less=2:"]);
            assert_eq!(names(r#" {"packages":{},"format":"alp-db-1"} "#).unwrap(), Vec::<String>::new());
        }

        /// Hands out one byte per read, so every token straddles a buffer refill.
        struct Trickle<'a>(&'a [u8]);

        impl std::io::Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let Some((first, rest)) = self.0.split_first() else { return Ok(0) };
                buf[0] = *first;
                self.0 = rest;
                Ok(1)
            }
        }

        #[test]
        fn stops_after_the_summary_when_the_length_is_right() {
            // What follows the summary is never read: here it is not even JSON.
            let text = r#"{"format":"alp-db-1","length":"000000000141","summary":{"jq":{"version":"1.7","sha256":"ab"},"b":{"version":"2","sha256":""}},"packages":{{{{"#;
            assert_eq!(text.len(), 141);
            assert_eq!(names(text).unwrap(), ["jq=1.7:ab", "b=2:"]);
            // A file cut short (or grown) is not skimmed, whatever its summary says.
            assert!(collect(text.as_bytes(), Some(100)).is_none());
            assert!(collect(text.as_bytes(), None).is_none());
            // A summary before the format is not trusted to stand alone.
            let text = r#"{"summary":{"x":{"version":"1"}},"format":"alp-db-1","packages":{"jq":{"version":"1.7"}}}"#;
            assert_eq!(names(text).unwrap(), ["jq=1.7:"]);
            // A cut summary falls back to the full reader.
            assert!(names(r#"{"format":"alp-db-1","summary":{"jq":{"version":"1.7""#).is_none());
        }

        #[test]
        fn reads_across_refills_and_big_file_lists() {
            let files: Vec<String> =
                (0..3000).map(|i| format!(r#"{{"path":"usr/lib/x/f{i}.py","sha256":"{i:064}","mode":420}}"#)).collect();
            let text = format!(
                r#"{{"format":"alp-db-1","packages":{{"a":{{"version":"1.0","files":[{}],"sha256":"ff"}},"b":{{"version":"2"}}}}}}"#,
                files.join(",")
            );
            assert_eq!(names(&text).unwrap(), ["a=1.0:ff", "b=2:"]);
            assert_eq!(collect(Trickle(text.as_bytes()), None).unwrap(), ["a=1.0:ff", "b=2:"]);
        }

        #[test]
        fn never_panics_on_cut_or_corrupted_text() {
            let good = br#"{"format":"alp-db-1","packages":{"jq":{"version":"1.7","sha256":"ab","files":[{"p":"a\"b"}],"n":-1}}}"#;
            assert!(collect(&good[..], Some(good.len() as u64)).is_some());
            for cut in 0..good.len() {
                assert!(collect(&good[..cut], Some(cut as u64)).is_none(), "accepted a cut at {cut}");
                for b in [b'"', b'\\', b'{', b'}', b'[', b']', b',', b':', b'x', 0xff] {
                    let mut bad = good.to_vec();
                    bad[cut] = b;
                    let _ = collect(&bad[..], Some(bad.len() as u64));
                }
            }
        }

        #[test]
        fn anything_unexpected_goes_to_the_full_reader() {
            for bad in [
                "",
                "[]",
                r#"{"format":"alp-db-2","packages":{}}"#,
                r#"{"packages":{}}"#,
                r#"{"format":"alp-db-1","packages":{"a":{"sha256":"x"}}}"#,
                r#"{"format":"alp-db-1","packages":{"a\u0041":{"version":"1"}}}"#,
                r#"{"format":"alp-db-1","packages":{"a":{"version":"1"}}"#,
                r#"{"format":"alp-db-1","packages":{"a":{"version":"1","x":[}}}"#,
                r#"{"format":"alp-db-1","packages":{"a":{"version":"1"}}} trailing"#,
                r#"{"format":"alp-db-1","packages":{"a":{"version":"1","x":"unterminated}}}"#,
            ] {
                assert!(names(bad).is_none(), "accepted: {bad}");
            }
            assert!(
                collect(&b"{\"format\":\"alp-db-1\",\"packages\":{\"a\":{\"version\":\"\xff\"}}}"[..], None).is_none()
            );
        }
    }
}
