//! The merge decision table: what happens to one template-rendered file, from its
//! old render (the recorded release), its new render (the target release) and the
//! team's copy. Pure: no files, no processes.

/// What the upgrade does with one path outside `strata/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to do: not a template file, or the team's copy already is the result.
    Nothing,
    /// The team never edited it and the template changed it: take the new render.
    Update,
    /// The team edited it and the template did not change it: keep the team's.
    Keep,
    /// Both changed it: three-way merge (old render as the base).
    Merge,
    /// Both changed a binary file: never merged; the team's stays and is listed.
    KeepBinary,
    /// A new template file the team does not have: add it.
    Add,
    /// A new template file where the team already has a different file: merge
    /// with an empty base, which leaves conflict markers around the differences.
    MergeWithoutBase,
    /// The template dropped a file the team never edited: remove it.
    Remove,
    /// The template dropped a file the team edited: keep it and list it.
    KeepDropped,
    /// The team deleted a file the template changed: it stays deleted, listed.
    StayDeleted,
    /// A `Cargo.lock` the team changed: take the new one, then let cargo re-add
    /// what the team added (`cargo metadata`).
    RefreshLock,
}

/// The lock file, whose merge cargo does better than a text merge.
pub const LOCK_FILE: &str = "Cargo.lock";

/// Decides the fate of `path` given its `old` render, `new` render and the
/// team's copy (`None` where there is no such file).
pub fn decide(path: &str, old: Option<&[u8]>, new: Option<&[u8]>, team: Option<&[u8]>) -> Decision {
    match (old, new, team) {
        (_, Some(new), Some(team)) if new == team => Decision::Nothing,
        (None, None, _) | (Some(_), None, None) => Decision::Nothing,
        (Some(old), Some(new), None) if old == new => Decision::Nothing,
        (Some(_), Some(_), None) => Decision::StayDeleted,
        (Some(old), None, Some(team)) if old == team => Decision::Remove,
        (Some(_), None, Some(_)) => Decision::KeepDropped,
        (None, Some(_), None) => Decision::Add,
        (None, Some(new), Some(team)) if is_binary(new) || is_binary(team) => Decision::KeepBinary,
        (None, Some(_), Some(_)) => Decision::MergeWithoutBase,
        (Some(old), Some(_), Some(team)) if old == team => Decision::Update,
        (Some(old), Some(new), Some(_)) if old == new => Decision::Keep,
        (Some(_), Some(_), Some(_)) if path == LOCK_FILE => Decision::RefreshLock,
        (Some(old), Some(new), Some(team))
            if is_binary(old) || is_binary(new) || is_binary(team) =>
        {
            Decision::KeepBinary
        }
        (Some(_), Some(_), Some(_)) => Decision::Merge,
    }
}

/// Binary as git sees it: a NUL byte in the first 8000 bytes.
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8000).any(|&byte| byte == 0)
}

#[cfg(test)]
mod tests {
    use super::Decision::*;
    use super::*;

    const A: &[u8] = b"a\n";
    const B: &[u8] = b"b\n";
    const C: &[u8] = b"c\n";
    const BIN: &[u8] = b"\0x";
    const BIN2: &[u8] = b"\0y";

    fn file(path: &str, old: Option<&[u8]>, new: Option<&[u8]>, team: Option<&[u8]>) -> Decision {
        decide(path, old, new, team)
    }

    fn text(old: Option<&[u8]>, new: Option<&[u8]>, team: Option<&[u8]>) -> Decision {
        file("src/lib.rs", old, new, team)
    }

    #[test]
    fn untouched_by_the_team_takes_the_new_render() {
        assert_eq!(text(Some(A), Some(B), Some(A)), Update);
    }

    #[test]
    fn untouched_by_the_template_keeps_the_teams_file() {
        assert_eq!(text(Some(A), Some(A), Some(B)), Keep);
        assert_eq!(text(Some(A), Some(A), Some(A)), Nothing);
    }

    #[test]
    fn changed_by_both_merges_unless_they_agree() {
        assert_eq!(text(Some(A), Some(B), Some(C)), Merge);
        assert_eq!(text(Some(A), Some(B), Some(B)), Nothing);
    }

    #[test]
    fn binary_files_are_never_merged() {
        assert_eq!(text(Some(BIN), Some(BIN2), Some(A)), KeepBinary);
        assert_eq!(text(Some(A), Some(B), Some(BIN)), KeepBinary);
        assert_eq!(text(None, Some(BIN), Some(BIN2)), KeepBinary);
        assert_eq!(text(Some(BIN), Some(BIN2), Some(BIN)), Update);
        assert_eq!(text(Some(BIN), Some(BIN), Some(BIN2)), Keep);
    }

    #[test]
    fn new_template_files_are_added_or_merged_with_an_empty_base() {
        assert_eq!(text(None, Some(A), None), Add);
        assert_eq!(text(None, Some(A), Some(A)), Nothing);
        assert_eq!(text(None, Some(A), Some(B)), MergeWithoutBase);
    }

    #[test]
    fn dropped_files_go_only_where_the_team_never_edited_them() {
        assert_eq!(text(Some(A), None, Some(A)), Remove);
        assert_eq!(text(Some(A), None, Some(B)), KeepDropped);
        assert_eq!(text(Some(A), None, None), Nothing);
    }

    #[test]
    fn files_the_team_deleted_stay_deleted() {
        assert_eq!(text(Some(A), Some(A), None), Nothing);
        assert_eq!(text(Some(A), Some(B), None), StayDeleted);
    }

    #[test]
    fn files_the_template_never_rendered_are_the_teams() {
        assert_eq!(text(None, None, Some(A)), Nothing);
        assert_eq!(text(None, None, None), Nothing);
    }

    #[test]
    fn a_lock_file_the_team_changed_is_refreshed_not_merged() {
        assert_eq!(file(LOCK_FILE, Some(A), Some(B), Some(A)), Update);
        assert_eq!(file(LOCK_FILE, Some(A), Some(B), Some(C)), RefreshLock);
        assert_eq!(file(LOCK_FILE, Some(A), Some(A), Some(C)), Keep);
    }
}
