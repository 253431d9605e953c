//! JSON reading that also reports duplicate object keys. `serde_json::Value` silently keeps
//! the last duplicate; scp-semantics.md §3.4 asks for a warning instead, because a repeated
//! operator (e.g. two `StringNotEquals` blocks) changes what the policy means.

use std::fmt;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses `text` as JSON, returning the value and the paths of duplicated keys.
pub(crate) fn parse_with_duplicates(text: &str) -> Result<(Value, Vec<String>), serde_json::Error> {
    let mut dups = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Seed { dups: &mut dups, path: String::new() }.deserialize(&mut de)?;
    de.end()?;
    Ok((value, dups))
}

struct Seed<'a> {
    dups: &'a mut Vec<String>,
    path: String,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let dups = self.dups;
        let mut out = Vec::new();
        loop {
            let seed = Seed { dups: &mut *dups, path: format!("{}[{}]", self.path, out.len()) };
            match seq.next_element_seed(seed)? {
                Some(v) => out.push(v),
                None => break,
            }
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let dups = self.dups;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = join(&self.path, &key);
            let value = map.next_value_seed(Seed { dups: &mut *dups, path: path.clone() })?;
            if out.insert(key, value).is_some() {
                dups.push(path);
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn finds_duplicates() {
        let (v, d) = parse_with_duplicates(r#"{"a":{"b":1,"b":2},"c":[{"x":1,"x":3}]}"#).unwrap();
        assert_eq!(v["a"]["b"], 2);
        assert_eq!(d, vec!["a.b".to_owned(), "c[0].x".to_owned()]);
        assert!(parse_with_duplicates("{} x").is_err());
    }
}
