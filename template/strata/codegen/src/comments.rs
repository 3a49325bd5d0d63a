//! The comments written above a proto element, from the source info protox keeps.

use prost_reflect::FileDescriptor;

/// The leading comment of the element at `path` in `file`, lines trimmed and
/// joined with newlines; empty when there is none.
pub fn leading(file: &FileDescriptor, path: &[i32]) -> String {
    file.file_descriptor_proto()
        .source_code_info
        .as_ref()
        .and_then(|info| info.location.iter().find(|location| location.path == path))
        .and_then(|location| location.leading_comments.as_deref())
        .map(|comment| {
            comment
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("\n")
                .trim()
                .to_owned()
        })
        .unwrap_or_default()
}
