//! One setting's value as a layer gave it: typed TOML from the file, or text from the
//! environment or a flag. Text takes the type of the field it lands in, at deserialization
//! time: `ROOST_TOKEN_SECRET=123456` is the string "123456" and `ROOST_FEED_CAP=123456` the
//! number, because the field asks (guessing from the text's look would get one of them
//! wrong). Errors name where the value came from.

use serde::de::value::Error;
use serde::de::{Error as _, IntoDeserializer, Unexpected, Visitor};
use serde::forward_to_deserialize_any;

#[derive(Debug, Clone)]
pub enum Raw {
    Toml(toml::Value),
    Text(String),
}

/// A value and where it came from, e.g. "ROOST_FEED_CAP in the environment".
#[derive(Debug, Clone)]
pub struct Given {
    pub raw: Raw,
    pub origin: String,
}

impl Given {
    fn explain(origin: &str) -> impl FnOnce(Error) -> Error + '_ {
        move |e| Error::custom(format!("{origin}: {e}"))
    }
}

fn toml_error(e: toml::de::Error) -> Error {
    Error::custom(e.message())
}

/// Booleans as people write them in the environment, not only as Rust spells them.
fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

macro_rules! parsed {
    ($($method:ident => $visit:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.raw {
                Raw::Toml(value) => value.$method(visitor).map_err(toml_error),
                Raw::Text(text) => match text.trim().parse() {
                    Ok(n) => visitor.$visit(n),
                    Err(_) => Err(Error::invalid_value(Unexpected::Str(&text), &visitor)),
                },
            }
            .map_err(Given::explain(&self.origin))
        }
    )*};
}

impl<'de> serde::Deserializer<'de> for Given {
    type Error = Error;

    parsed! {
        deserialize_i8 => visit_i8, deserialize_i16 => visit_i16, deserialize_i32 => visit_i32,
        deserialize_i64 => visit_i64, deserialize_u8 => visit_u8, deserialize_u16 => visit_u16,
        deserialize_u32 => visit_u32, deserialize_u64 => visit_u64, deserialize_f32 => visit_f32,
        deserialize_f64 => visit_f64,
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.raw {
            Raw::Toml(value) => value.deserialize_any(visitor).map_err(toml_error),
            Raw::Text(text) => visitor.visit_string(text),
        }
        .map_err(Given::explain(&self.origin))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.raw {
            Raw::Toml(value) => value.deserialize_bool(visitor).map_err(toml_error),
            Raw::Text(text) => match parse_bool(&text) {
                Some(b) => visitor.visit_bool(b),
                None => Err(Error::invalid_value(Unexpected::Str(&text), &"true or false")),
            },
        }
        .map_err(Given::explain(&self.origin))
    }

    /// A given value is always `Some`: leaving a setting out is how to keep it unset.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    /// Unit variants by name, so an enum setting reads `ROOST_X=name` as the file's `x = "name"`.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.raw {
            Raw::Toml(value) => value.deserialize_enum(name, variants, visitor).map_err(toml_error),
            Raw::Text(text) => visitor.visit_enum(text.into_deserializer()),
        }
        .map_err(Given::explain(&self.origin))
    }

    forward_to_deserialize_any! {
        i128 u128 char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map
        struct identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, Error> for Given {
    type Deserializer = Given;

    fn into_deserializer(self) -> Given {
        self
    }
}
