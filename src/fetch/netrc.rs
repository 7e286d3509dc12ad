//! `.netrc` files as curl and ftp read them: `machine HOST login USER password PASS`
//! entries and one `default` entry, whitespace separated; `macdef` bodies are skipped.
//! Only what credentials need is kept; a file that cannot be parsed gives no entries.

/// One `machine` (or `default`, with `host` `None`) entry.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    pub host: Option<String>,
    pub login: String,
    pub password: String,
}

/// The entries of a netrc file's text, in order.
pub fn parse(text: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut lines = text.lines();
    let mut current: Option<Entry> = None;
    while let Some(line) = lines.next() {
        let mut words = line.split_whitespace();
        while let Some(word) = words.next() {
            match word {
                "machine" | "default" => {
                    out.extend(current.take());
                    let host = if word == "machine" { words.next().map(str::to_ascii_lowercase) } else { None };
                    current = Some(Entry { host, login: String::new(), password: String::new() });
                }
                "login" => {
                    if let (Some(e), Some(v)) = (current.as_mut(), words.next()) {
                        e.login = v.to_string();
                    }
                }
                "password" => {
                    if let (Some(e), Some(v)) = (current.as_mut(), words.next()) {
                        e.password = v.to_string();
                    }
                }
                "account" => {
                    words.next();
                }
                "macdef" => {
                    // A macro runs to the next empty line.
                    for l in lines.by_ref() {
                        if l.trim().is_empty() {
                            break;
                        }
                    }
                    break;
                }
                _ => {}
            }
        }
    }
    out.extend(current);
    out
}

/// The entry for `host`: its own `machine` entry, else `default`.
pub fn find<'a>(entries: &'a [Entry], host: &str) -> Option<&'a Entry> {
    let host = host.to_ascii_lowercase();
    entries
        .iter()
        .find(|e| e.host.as_deref() == Some(host.as_str()))
        .or_else(|| entries.iter().find(|e| e.host.is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_machines_default_and_skips_macros() {
        let text = "machine a.example login alice password s3cret\n\
                    macdef init\nmachine evil login x password y\n\n\
                    machine B.example\n  login bob\n  password hunter2 account z\n\
                    default login anon password guest\n";
        let entries = parse(text);
        assert_eq!(entries.len(), 3);
        let a = find(&entries, "a.example").unwrap();
        assert_eq!((a.login.as_str(), a.password.as_str()), ("alice", "s3cret"));
        assert_eq!(find(&entries, "b.example").unwrap().password, "hunter2");
        assert_eq!(find(&entries, "evil").unwrap().login, "anon");
        assert!(find(&parse("machine x login y password z"), "other").is_none());
    }
}
