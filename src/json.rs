//! Small typed accessors over `miniserde::json::Value`, so every format error names its field.

use crate::error::{self, Result};
use miniserde::json::{Array, Number, Object, Value};

/// A JSON object being read, with a label for error messages ("index.json package 3").
pub struct Fields<'a> {
    pub obj: &'a Object,
    pub what: String,
}

impl<'a> Fields<'a> {
    pub fn of(v: &'a Value, what: impl Into<String>) -> Result<Fields<'a>> {
        let what = what.into();
        match v {
            Value::Object(obj) => Ok(Fields { obj, what }),
            _ => Err(error::bad_input(format!("{what} is not a JSON object"))),
        }
    }

    fn bad(&self, key: &str, want: &str) -> error::Error {
        error::bad_input(format!("{}: field '{key}' must be {want}", self.what))
    }

    pub fn str(&self, key: &str) -> Result<String> {
        self.opt_str(key)?.ok_or_else(|| error::bad_input(format!("{}: field '{key}' is missing", self.what)))
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<String>> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.bad(key, "a string")),
        }
    }

    pub fn str_or_empty(&self, key: &str) -> Result<String> {
        Ok(self.opt_str(key)?.unwrap_or_default())
    }

    pub fn u64(&self, key: &str) -> Result<Option<u64>> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(Number::U64(n))) => Ok(Some(*n)),
            Some(_) => Err(self.bad(key, "a non-negative integer")),
        }
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.bad(key, "true or false")),
        }
    }

    pub fn strings(&self, key: &str) -> Result<Vec<String>> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(self.bad(key, "a list of strings")),
                })
                .collect(),
            Some(_) => Err(self.bad(key, "a list of strings")),
        }
    }

    pub fn array(&self, key: &str) -> Result<&'a Array> {
        match self.obj.get(key) {
            Some(Value::Array(a)) => Ok(a),
            None => Err(error::bad_input(format!("{}: field '{key}' is missing", self.what))),
            Some(_) => Err(self.bad(key, "a list")),
        }
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key)
    }
}

/// Builds a JSON object from key/value pairs.
pub fn object(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

pub fn string(s: impl Into<String>) -> Value {
    Value::String(s.into())
}

pub fn number(n: u64) -> Value {
    Value::Number(Number::U64(n))
}

pub fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| Value::String(s.clone())).collect())
}

/// Parses JSON text, with the label of what it is for the error.
pub fn parse(text: &str, what: &str) -> Result<Value> {
    miniserde::json::from_str(text).map_err(|_| error::bad_input(format!("{what} is not valid JSON")))
}

pub fn array(items: Vec<Value>) -> Value {
    Value::Array(items.into_iter().collect())
}

/// Appends `s` as a JSON string literal. For documents written field by field (the
/// database, the journal) without building a `Value` tree the size of every file list.
pub fn quote_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Where JSON text first goes wrong: (line, column, what was expected), both from 1. None
/// when the text is valid. miniserde says only that it failed; people editing config.json
/// need the place.
pub fn syntax_error(text: &str) -> Option<(usize, usize, &'static str)> {
    let b = text.as_bytes();
    let mut p = Scan { b, i: 0 };
    let result = p.value().and_then(|()| {
        p.ws();
        if p.i < b.len() { Err("end of the document") } else { Ok(()) }
    });
    let what = result.err()?;
    let before = &text[..p.i.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some((line, col, what))
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

type Expect = std::result::Result<(), &'static str>;

impl Scan<'_> {
    fn ws(&mut self) {
        while self.b.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8, what: &'static str) -> Expect {
        self.ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(what)
        }
    }

    fn value(&mut self) -> Expect {
        self.ws();
        match self.b.get(self.i) {
            Some(b'{') => self.seq(b'}', true),
            Some(b'[') => self.seq(b']', false),
            Some(b'"') => self.string(),
            Some(b'-' | b'0'..=b'9') => {
                self.i += 1;
                while self.b.get(self.i).is_some_and(|c| c.is_ascii_digit() || b".eE+-".contains(c)) {
                    self.i += 1;
                }
                Ok(())
            }
            _ => {
                for word in ["true", "false", "null"] {
                    if self.b[self.i..].starts_with(word.as_bytes()) {
                        self.i += word.len();
                        return Ok(());
                    }
                }
                Err("a value (a string in double quotes, a number, true, false, null, an object or a list)")
            }
        }
    }

    /// An object (`keyed`) or a list, its opening bracket not yet consumed.
    fn seq(&mut self, close: u8, keyed: bool) -> Expect {
        self.i += 1;
        self.ws();
        if self.b.get(self.i) == Some(&close) {
            self.i += 1;
            return Ok(());
        }
        loop {
            if keyed {
                self.ws();
                if self.b.get(self.i) != Some(&b'"') {
                    return Err("a key in double quotes");
                }
                self.string()?;
                self.eat(b':', "':' after the key")?;
            }
            self.value()?;
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(c) if *c == close => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(if keyed { "',' or '}'" } else { "',' or ']'" }),
            }
        }
    }

    fn string(&mut self) -> Expect {
        self.i += 1;
        while let Some(c) = self.b.get(self.i) {
            self.i += 1;
            match c {
                b'"' => return Ok(()),
                b'\\' => self.i += 1,
                b'\n' => return Err("a closing '\"' before the end of the line"),
                _ => {}
            }
        }
        Err("a closing '\"'")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn syntax_errors_have_a_line_and_column() {
        assert_eq!(syntax_error("{\"a\": 1}"), None);
        assert_eq!(syntax_error("{\n  \"a\": 1,\n  b: 2\n}").map(|e| (e.0, e.1)), Some((3, 3)));
        assert_eq!(syntax_error("{\"a\": tru}").map(|e| (e.0, e.1)), Some((1, 7)));
        assert_eq!(syntax_error("{not json").map(|e| (e.0, e.1)), Some((1, 2)));
    }

    use super::*;

    #[test]
    fn quoted_strings_parse_back() {
        for s in ["plain", "quote \" and \\ slash", "ctl \u{1} \n \t", "ünï"] {
            let mut out = String::new();
            quote_into(&mut out, s);
            assert_eq!(miniserde::json::from_str::<String>(&out).unwrap(), s);
        }
    }
}
