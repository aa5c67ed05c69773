//! Typed values into JSON with no value changing on the way.
//!
//! serde_json writes what JSON cannot carry without a word: a NaN or an
//! infinite `f32`/`f64` becomes `null`, and so does `Some(x)` when `x` itself
//! is written as `null` (`Some(None)`, `Some(())`, `Some(Value::Null)`).
//! Reading the JSON back then gives another value (`None` for
//! `Some(f64::NAN)` in an `Option<f64>`), or fails (`null` in an `f64`
//! field): an event stored that way says something other than what was
//! decided, and the repository's cached state disagrees with every replay.
//!
//! So every place es-core turns a caller's typed value into JSON (an event's
//! payload, the extra metadata, a snapshot's state, an upcaster's output)
//! first walks the value with [`check`]: a serializer that writes nothing
//! and stops at the first value JSON cannot carry, naming where it sits
//! (`Measured.readings[2]`, `limits["max"]`). Nothing is stored then: an
//! event is refused with [`InvalidInput::NotRepresentable`], a snapshot is
//! skipped. The walk allocates nothing unless it finds something (map keys
//! are written to one reused buffer per map), so it costs a fraction of the
//! encoding it guards.

use std::fmt::{self, Display};

use serde::{ser, Serialize};
use serde_json::Value;

use crate::{InputField, InvalidInput};

/// What JSON cannot carry, and where it sits in the typed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unrepresentable {
    /// Where: `Measured.readings[2]`, `limits["max"]`, `0`; empty for the
    /// value itself.
    pub(crate) path: String,
    /// What: `NaN`, `inf`, `-inf` or `Some(null)`.
    pub(crate) value: &'static str,
}

impl Unrepresentable {
    /// The refusal of this value in `field`, its path under `prefix` (for
    /// example `extra` for the extra metadata).
    pub(crate) fn into_invalid_input(self, field: InputField, prefix: &str) -> InvalidInput {
        let path = match (prefix.is_empty(), self.path.is_empty()) {
            (true, _) => self.path,
            (false, true) => prefix.to_owned(),
            (false, false) if self.path.starts_with('[') => format!("{prefix}{}", self.path),
            (false, false) => format!("{prefix}.{}", self.path),
        };
        InvalidInput::NotRepresentable {
            field,
            path,
            value: self.value,
        }
    }
}

/// Checks that JSON carries `value` exactly: no NaN or infinite float and
/// no `Some` of something written as `null`, wherever it sits. A value
/// whose `Serialize` fails is let through: encoding it fails the same way,
/// with serde's own message.
pub(crate) fn check<T: Serialize + ?Sized>(value: &T) -> Result<(), Unrepresentable> {
    match value.serialize(&mut Checker { null: false }) {
        Ok(()) | Err(Stop::Custom) => Ok(()),
        Err(Stop::Found {
            mut segments,
            value,
        }) => {
            segments.reverse();
            Err(Unrepresentable {
                path: render(&segments),
                value,
            })
        }
    }
}

/// `value` as JSON, or a serde error naming what JSON cannot carry
/// (`field` and `prefix` say where `value` sits, for the message).
pub(crate) fn to_value<T: Serialize + ?Sized>(
    value: &T,
    field: InputField,
    prefix: &str,
) -> Result<Value, serde_json::Error> {
    check(value).map_err(|found| {
        <serde_json::Error as ser::Error>::custom(found.into_invalid_input(field, prefix))
    })?;
    serde_json::to_value(value)
}

/// One step of a path, recorded only on the way up from a find.
#[derive(Debug)]
enum Segment {
    Field(&'static str),
    /// A field of a tuple (struct or variant): `.0`.
    Position(usize),
    /// An element of a sequence: `[0]`.
    Index(usize),
    /// A map key, as JSON text (`"max"`, `3`).
    Key(String),
}

fn render(segments: &[Segment]) -> String {
    let mut path = String::new();
    for segment in segments {
        match segment {
            Segment::Field(name) if path.is_empty() => path.push_str(name),
            Segment::Field(name) => {
                path.push('.');
                path.push_str(name);
            }
            Segment::Position(index) if path.is_empty() => path.push_str(&index.to_string()),
            Segment::Position(index) => path.push_str(&format!(".{index}")),
            Segment::Index(index) => path.push_str(&format!("[{index}]")),
            Segment::Key(key) => {
                path.push('[');
                path.push_str(key);
                path.push(']');
            }
        }
    }
    path
}

/// Why the walk stopped.
#[derive(Debug)]
enum Stop {
    /// Something JSON cannot carry; `segments` innermost first.
    Found {
        segments: Vec<Segment>,
        value: &'static str,
    },
    /// The value's own `Serialize` failed.
    Custom,
}

impl Stop {
    fn within(self, segment: Segment) -> Self {
        match self {
            Stop::Found {
                mut segments,
                value,
            } => {
                segments.push(segment);
                Stop::Found { segments, value }
            }
            Stop::Custom => Stop::Custom,
        }
    }
}

impl Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Found { value, .. } => write!(f, "{value} cannot be written as JSON"),
            Stop::Custom => f.write_str("the value failed to serialize"),
        }
    }
}

impl std::error::Error for Stop {}

impl ser::Error for Stop {
    fn custom<T: Display>(_: T) -> Self {
        Stop::Custom
    }
}

fn found(value: &'static str) -> Stop {
    Stop::Found {
        segments: Vec::new(),
        value,
    }
}

/// The walk: writes nothing, remembers whether the last value it walked is
/// written as `null` (so a `Some` around it can be refused).
struct Checker {
    null: bool,
}

impl Checker {
    fn float(&mut self, value: f64) -> Result<(), Stop> {
        self.null = false;
        if value.is_nan() {
            Err(found("NaN"))
        } else if value == f64::INFINITY {
            Err(found("inf"))
        } else if value == f64::NEG_INFINITY {
            Err(found("-inf"))
        } else {
            Ok(())
        }
    }

    fn plain(&mut self) -> Result<(), Stop> {
        self.null = false;
        Ok(())
    }

    fn null(&mut self) -> Result<(), Stop> {
        self.null = true;
        Ok(())
    }

    fn compound(
        &mut self,
        tuple: bool,
        variant: Option<&'static str>,
    ) -> Result<Compound<'_>, Stop> {
        self.null = false;
        Ok(Compound {
            checker: self,
            index: 0,
            tuple,
            key: Vec::new(),
            variant,
        })
    }
}

/// Serializer methods for values JSON always carries as they are.
macro_rules! plain {
    ($($method:ident: $type:ty),*) => {$(
        fn $method(self, _: $type) -> Result<(), Stop> {
            self.plain()
        }
    )*};
}

impl<'a> ser::Serializer for &'a mut Checker {
    type Ok = ();
    type Error = Stop;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    plain!(
        serialize_bool: bool,
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_i128: i128,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
        serialize_u128: u128,
        serialize_char: char,
        serialize_str: &str,
        serialize_bytes: &[u8]
    );
    fn serialize_f32(self, value: f32) -> Result<(), Stop> {
        self.float(f64::from(value))
    }
    fn serialize_f64(self, value: f64) -> Result<(), Stop> {
        self.float(value)
    }
    fn serialize_none(self) -> Result<(), Stop> {
        self.null()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Stop> {
        value.serialize(&mut *self)?;
        if self.null {
            return Err(found("Some(null)"));
        }
        Ok(())
    }
    fn serialize_unit(self) -> Result<(), Stop> {
        self.null()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Stop> {
        self.null()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Stop> {
        self.plain()
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        // Written as the inner value, `null` included.
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        value
            .serialize(&mut *self)
            .map_err(|stop| stop.within(Segment::Field(variant)))?;
        self.plain()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Stop> {
        self.compound(false, None)
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound<'a>, Stop> {
        self.compound(true, None)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Stop> {
        self.compound(true, None)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Stop> {
        self.compound(true, Some(variant))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, Stop> {
        self.compound(false, None)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Stop> {
        self.compound(false, None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Stop> {
        self.compound(false, Some(variant))
    }
}

/// A sequence, tuple, map or struct being walked: its next index (and
/// whether it is a tuple's, `.0`, or a sequence's, `[0]`), the JSON text of
/// the map key being walked, and the variant it belongs to.
struct Compound<'a> {
    checker: &'a mut Checker,
    index: usize,
    tuple: bool,
    key: Vec<u8>,
    variant: Option<&'static str>,
}

impl Compound<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        let index = self.index;
        self.index += 1;
        let segment = if self.tuple {
            Segment::Position(index)
        } else {
            Segment::Index(index)
        };
        value
            .serialize(&mut *self.checker)
            .map_err(|stop| self.in_variant(stop.within(segment)))
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Result<(), Stop> {
        value
            .serialize(&mut *self.checker)
            .map_err(|stop| self.in_variant(stop.within(Segment::Field(name))))
    }

    /// Inside a tuple or struct variant, the variant's name leads the path.
    fn in_variant(&self, stop: Stop) -> Stop {
        match self.variant {
            Some(variant) => stop.within(Segment::Field(variant)),
            None => stop,
        }
    }

    fn end(self) -> Result<(), Stop> {
        self.checker.null = false;
        Ok(())
    }
}

/// The compound traits whose elements are positional (`[0]` or `.0`).
macro_rules! positional {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Stop;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
                self.element(value)
            }
            fn end(self) -> Result<(), Stop> {
                Compound::end(self)
            }
        }
    )*};
}

positional!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// The compound traits whose fields are named (`.value`).
macro_rules! named {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Stop;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                name: &'static str,
                value: &T,
            ) -> Result<(), Stop> {
                self.field(name, value)
            }
            fn end(self) -> Result<(), Stop> {
                Compound::end(self)
            }
        }
    )*};
}

named!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Stop> {
        // A float key must be finite too (serde_json refuses the others).
        key.serialize(&mut *self.checker)?;
        self.key.clear();
        if serde_json::to_writer(&mut self.key, key).is_err() {
            self.key.clear();
            self.key.extend_from_slice(b"?");
        }
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        value.serialize(&mut *self.checker).map_err(|stop| {
            stop.within(Segment::Key(
                String::from_utf8_lossy(&self.key).into_owned(),
            ))
        })
    }
    fn end(self) -> Result<(), Stop> {
        Compound::end(self)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use serde::Serialize;
    use serde_json::{json, Value};

    use super::{check, to_value, Unrepresentable};
    use crate::{InputField, InvalidInput};

    fn refused(path: &str, value: &'static str) -> Result<(), Unrepresentable> {
        Err(Unrepresentable {
            path: path.to_owned(),
            value,
        })
    }

    #[derive(Serialize)]
    struct Reading {
        value: f64,
        label: Option<String>,
    }

    #[derive(Serialize)]
    struct Celsius(f64);

    #[derive(Serialize)]
    struct Pair(u8, f32);

    #[derive(Serialize)]
    enum Event {
        Measured { readings: Vec<Reading> },
        Adjusted(Option<f64>),
        Moved(u8, f64),
        Cleared,
    }

    #[test]
    fn non_finite_floats_are_found_wherever_they_sit() {
        assert_eq!(check(&f64::NAN), refused("", "NaN"));
        assert_eq!(check(&f32::INFINITY), refused("", "inf"));
        assert_eq!(check(&f64::NEG_INFINITY), refused("", "-inf"));
        assert_eq!(check(&Some(f64::NAN)), refused("", "NaN"), "optional");
        assert_eq!(check(&Celsius(f64::NAN)), refused("", "NaN"), "newtype");
        assert_eq!(
            check(&Pair(1, f32::NAN)),
            refused("1", "NaN"),
            "tuple struct"
        );
        assert_eq!(check(&(1, (2, f64::NAN))), refused("1.1", "NaN"), "tuples");
        assert_eq!(
            check(&vec![1.0, 2.0, f64::NAN]),
            refused("[2]", "NaN"),
            "sequence"
        );
        let reading = Reading {
            value: f64::INFINITY,
            label: None,
        };
        assert_eq!(check(&reading), refused("value", "inf"), "struct field");
        let measured = Event::Measured {
            readings: vec![
                Reading {
                    value: 1.5,
                    label: Some("a".into()),
                },
                Reading {
                    value: f64::NAN,
                    label: None,
                },
            ],
        };
        assert_eq!(
            check(&measured),
            refused("Measured.readings[1].value", "NaN"),
            "struct variant"
        );
        assert_eq!(
            check(&Event::Adjusted(Some(f64::NEG_INFINITY))),
            refused("Adjusted", "-inf"),
            "newtype variant"
        );
        assert_eq!(
            check(&Event::Moved(3, f64::NAN)),
            refused("Moved.1", "NaN"),
            "tuple variant"
        );
        let map = BTreeMap::from([("max", f64::INFINITY), ("min", 0.0)]);
        assert_eq!(check(&map), refused("[\"max\"]", "inf"), "map value");
        let nested = HashMap::from([(7u32, vec![Some(Celsius(f64::NAN))])]);
        assert_eq!(check(&nested), refused("[7][0]", "NaN"), "map of lists");
        let keyed = BTreeMap::from([(Celsius(f64::NAN).0.to_bits(), 1)]);
        assert_eq!(check(&keyed), Ok(()), "an integer key is fine");
    }

    #[test]
    fn a_some_written_as_null_is_found() {
        assert_eq!(check(&Some(None::<u32>)), refused("", "Some(null)"));
        assert_eq!(check(&Some(())), refused("", "Some(null)"));
        assert_eq!(check(&Some(Value::Null)), refused("", "Some(null)"));
        assert_eq!(
            check(&vec![Some(Some(1)), Some(None)]),
            refused("[1]", "Some(null)")
        );
        // What reads back as written passes.
        assert_eq!(check(&None::<u32>), Ok(()));
        assert_eq!(check(&vec![None::<()>]), Ok(()));
        assert_eq!(check(&Some(Some(0))), Ok(()));
        assert_eq!(check(&Event::Cleared), Ok(()));
        assert_eq!(check(&Event::Adjusted(None)), Ok(()));
    }

    #[test]
    fn finite_values_pass_and_encode_as_serde_json_does() {
        let values = json!({
            "max": f64::MAX, "min": f64::MIN_POSITIVE, "zero": -0.0, "tiny": 5e-324,
            "list": [1, "two", null, {"three": [3.5]}], "unit": null,
        });
        assert_eq!(check(&values), Ok(()));
        let reading = Reading {
            value: 117.633_311_394_000_17,
            label: Some("x".into()),
        };
        assert_eq!(
            to_value(&reading, InputField::Payload, "").expect("encodes"),
            serde_json::to_value(&reading).expect("serde_json")
        );
    }

    #[test]
    fn a_serialize_that_fails_is_left_to_serde_json_to_report() {
        struct Failing;
        impl Serialize for Failing {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("no"))
            }
        }
        assert_eq!(check(&Failing), Ok(()));
        let error = to_value(&Failing, InputField::Payload, "").expect_err("fails");
        assert_eq!(error.to_string(), "no");
    }

    #[test]
    fn the_refusal_names_field_path_and_value() {
        let found = check(&BTreeMap::from([("ratio", f64::NAN)])).expect_err("found");
        let invalid = found.into_invalid_input(InputField::Metadata, "extra");
        assert_eq!(
            invalid,
            InvalidInput::NotRepresentable {
                field: InputField::Metadata,
                path: "extra[\"ratio\"]".into(),
                value: "NaN"
            }
        );
        let message = invalid.to_string();
        assert!(
            message.contains("metadata") && message.contains("extra[\"ratio\"]"),
            "{message}"
        );
        let whole = check(&f64::NAN).expect_err("found");
        let message = whole
            .into_invalid_input(InputField::Payload, "")
            .to_string();
        assert!(message.contains("NaN at the top level"), "{message}");
        let error = to_value(&Pair(0, f32::NAN), InputField::Payload, "").expect_err("refused");
        assert!(error.to_string().contains("NaN at 1"), "{error}");
    }
}
