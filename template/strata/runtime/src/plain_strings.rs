//! Messages whose fields are all singular strings without presence (such as
//! `HelloRequest` and `HelloReply`): their fields read straight from the
//! protobuf bytes, where a reflection message would cost a decode and an
//! allocation per field (docs/bench.md).

use prost::encoding::{WireType, decode_key, decode_varint};
use prost_reflect::{Kind, MessageDescriptor};

/// The most fields such a message may have: their values are kept on the stack.
pub(crate) const MAX_FIELDS: usize = 16;

/// The field numbers of `descriptor`, in the order its `fields()` lists them,
/// when every field is a singular string without presence (absent and empty
/// are then one) and it is no well-known type (whose JSON is not an object of
/// its fields).
pub(crate) fn numbers(descriptor: &MessageDescriptor) -> Option<Box<[u32]>> {
    if descriptor.full_name().starts_with("google.protobuf.")
        || descriptor.fields().len() > MAX_FIELDS
    {
        return None;
    }
    descriptor
        .fields()
        .map(|field| {
            let plain = matches!(field.kind(), Kind::String)
                && !field.is_list()
                && !field.is_map()
                && !field.supports_presence();
            plain.then(|| field.number())
        })
        .collect()
}

/// The text of each field of `numbers` in the message encoded as `bytes`, at
/// the field's index in `numbers`: `""` when absent, the last value when
/// repeated, as a decoder reads them; fields of other numbers are skipped, as
/// unknown fields. `None` when a field of `numbers` is not a string or the
/// bytes do not decode: the caller then takes the reflection path, which
/// reports it as it always did.
pub(crate) fn read<'b>(numbers: &[u32], mut bytes: &'b [u8]) -> Option<[&'b str; MAX_FIELDS]> {
    let mut values = [""; MAX_FIELDS];
    while !bytes.is_empty() {
        let (number, wire_type) = decode_key(&mut bytes).ok()?;
        let index = numbers.iter().position(|own| *own == number);
        let len = match wire_type {
            WireType::LengthDelimited => usize::try_from(decode_varint(&mut bytes).ok()?).ok()?,
            _ if index.is_some() => return None,
            WireType::Varint => {
                decode_varint(&mut bytes).ok()?;
                0
            }
            WireType::SixtyFourBit => 8,
            WireType::ThirtyTwoBit => 4,
            WireType::StartGroup | WireType::EndGroup => return None,
        };
        let value = bytes.get(..len)?;
        bytes = &bytes[len..];
        if let Some(index) = index {
            *values.get_mut(index)? = std::str::from_utf8(value).ok()?;
        }
    }
    Some(values)
}
