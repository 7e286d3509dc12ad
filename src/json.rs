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

#[cfg(test)]
mod tests {
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
