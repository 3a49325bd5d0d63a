//! `fuzz.v1.Request`: the proto, its descriptors (compiled once, in process) and
//! the message prost would generate for it. Every field kind the transcoder
//! treats differently is here: scalars, an enum, repeated, nested, a map and the
//! well-known types proto3 JSON writes as strings.

use std::collections::HashMap;
use std::sync::LazyLock;

use prost::Message;
use prost_reflect::DescriptorPool;

const PROTO: &str = r#"
syntax = "proto3";
package fuzz.v1;
import "google/protobuf/duration.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

enum Color { COLOR_UNSPECIFIED = 0; RED = 1; BLUE = 2; }
message Inner { int32 depth = 1; string label = 2; }
message Shelf { string name = 1; Inner inner = 2; }
message Request {
  string name = 1;
  int64 count = 2;
  bool flag = 3;
  Color color = 4;
  repeated string tags = 5;
  Inner inner = 6;
  google.protobuf.Timestamp at = 7;
  google.protobuf.Duration wait = 8;
  google.protobuf.FieldMask mask = 9;
  google.protobuf.Int32Value limit = 10;
  map<string, string> labels = 11;
  string display_name = 12;
  Shelf shelf = 14;
  double ratio = 15;
  uint64 big = 16;
  bytes blob = 17;
  repeated Inner items = 18;
  float score = 19;
}
"#;

pub static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    let mut files = protox::file::ChainFileResolver::new();
    files.add(Fixture);
    files.add(protox::file::GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(files);
    compiler.open_file("fuzz.proto").expect("the fixture compiles");
    compiler.descriptor_pool()
});

struct Fixture;

impl protox::file::FileResolver for Fixture {
    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        if name == "fuzz.proto" {
            protox::file::File::from_source(name, PROTO)
        } else {
            Err(protox::Error::file_not_found(name))
        }
    }
}

/// `fuzz.v1.Request`, by hand, as prost would generate it.
#[derive(Clone, PartialEq, Message)]
pub struct Request {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(int64, tag = "2")]
    pub count: i64,
    #[prost(bool, tag = "3")]
    pub flag: bool,
    #[prost(int32, tag = "4")]
    pub color: i32,
    #[prost(string, repeated, tag = "5")]
    pub tags: Vec<String>,
    #[prost(message, optional, tag = "6")]
    pub inner: Option<Inner>,
    #[prost(message, optional, tag = "7")]
    pub at: Option<Seconds>,
    #[prost(message, optional, tag = "8")]
    pub wait: Option<Seconds>,
    #[prost(message, optional, tag = "9")]
    pub mask: Option<Mask>,
    #[prost(message, optional, tag = "10")]
    pub limit: Option<Int32Value>,
    #[prost(map = "string, string", tag = "11")]
    pub labels: HashMap<String, String>,
    #[prost(string, tag = "12")]
    pub display_name: String,
    #[prost(message, optional, tag = "14")]
    pub shelf: Option<Shelf>,
    #[prost(double, tag = "15")]
    pub ratio: f64,
    #[prost(uint64, tag = "16")]
    pub big: u64,
    #[prost(bytes = "vec", tag = "17")]
    pub blob: Vec<u8>,
    #[prost(message, repeated, tag = "18")]
    pub items: Vec<Inner>,
    #[prost(float, tag = "19")]
    pub score: f32,
}

#[derive(Clone, PartialEq, Message)]
pub struct Inner {
    #[prost(int32, tag = "1")]
    pub depth: i32,
    #[prost(string, tag = "2")]
    pub label: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct Shelf {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub inner: Option<Inner>,
}

/// Timestamp and Duration share this shape.
#[derive(Clone, PartialEq, Message)]
pub struct Seconds {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

#[derive(Clone, PartialEq, Message)]
pub struct Mask {
    #[prost(string, repeated, tag = "1")]
    pub paths: Vec<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Int32Value {
    #[prost(int32, tag = "1")]
    pub value: i32,
}
