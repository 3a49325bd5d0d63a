//! Release tags: `v<major>.<minor>.<patch>`, the newest of which is the default target.

/// The newest release tag among `tags` (`v1.2.3`; pre-releases such as
/// `v1.3.0-rc.1` and other tags are skipped).
pub fn newest<'a>(tags: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    tags.into_iter()
        .filter_map(|tag| release(tag).map(|version| (version, tag)))
        .max()
        .map(|(_, tag)| tag)
}

/// `(major, minor, patch)` of a release tag.
fn release(tag: &str) -> Option<(u64, u64, u64)> {
    let mut parts = tag.strip_prefix('v')?.split('.');
    let mut number = || parts.next()?.parse::<u64>().ok();
    let version = (number()?, number()?, number()?);
    parts.next().is_none().then_some(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_highest_release_numerically() {
        assert_eq!(newest(["v0.9.0", "v0.10.0", "v0.2.1"]), Some("v0.10.0"));
    }

    #[test]
    fn skips_pre_releases_and_other_tags() {
        assert_eq!(
            newest(["v0.1.0", "v0.2.0-rc.1", "vnext", "0.3.0", "v1.2"]),
            Some("v0.1.0")
        );
        assert_eq!(newest(["latest"]), None);
    }
}
