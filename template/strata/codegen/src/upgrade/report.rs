//! What an upgrade did, or would do, file by file.

use super::plan::{Action, Plan};

/// Prints `plan` grouped by what happens to each file (`done`: after writing it;
/// otherwise as a plan).
pub fn print(plan: &Plan, source: &str, done: bool) {
    if done {
        println!("strata {} -> {} from {source}", plan.from, plan.to);
    } else {
        println!(
            "upgrade plan: strata {} -> {} from {source} (nothing is written)",
            plan.from, plan.to
        );
    }
    if !plan.strata_writes.is_empty() || !plan.strata_removals.is_empty() {
        println!(
            "  {:<10} strata/ replaced whole: {} file(s) new or changed, {} removed",
            "framework",
            plan.strata_writes.len(),
            plan.strata_removals.len()
        );
    }
    for (label, wanted) in [
        ("updated", Group::Update),
        ("merged", Group::Merge),
        ("conflict", Group::Conflict),
        ("added", Group::Add),
        ("removed", Group::Remove),
        ("lock", Group::Lock),
        ("kept", Group::Keep),
    ] {
        for change in plan
            .changes
            .iter()
            .filter(|change| group(change.action) == wanted)
        {
            let note = match change.action {
                Action::Conflict(1) => " (1 conflict)".to_owned(),
                Action::Conflict(n) => format!(" ({n} conflicts)"),
                Action::Keep(reason) => format!(": {reason}"),
                _ => String::new(),
            };
            println!("  {label:<10} {}{note}", change.path);
        }
    }
    if plan.changes.is_empty() && plan.strata_writes.is_empty() && plan.strata_removals.is_empty() {
        println!("  no file changes");
    }
}

/// The closing lines after writing: what to do next.
pub fn print_next_steps(plan: &Plan, conflicts: usize) {
    println!();
    if conflicts > 0 {
        println!(
            "{conflicts} file(s) have conflicts: the lines between `<<<<<<< yours` and `=======` are yours, \
             those up to `>>>>>>> strata {}` the template's. Edit each file to what it should be, \
             remove the markers, then `make lint test` and commit.",
            plan.to
        );
    }
    println!(
        "Review with `git diff`. Nothing of yours is lost: `git checkout -- . && git clean -fd` \
         returns to the commit before the upgrade."
    );
}

#[derive(PartialEq, Eq)]
enum Group {
    Update,
    Merge,
    Conflict,
    Add,
    Remove,
    Lock,
    Keep,
}

fn group(action: Action) -> Group {
    match action {
        Action::Update => Group::Update,
        Action::Merge => Group::Merge,
        Action::Conflict(_) => Group::Conflict,
        Action::Add => Group::Add,
        Action::Remove => Group::Remove,
        Action::Lock => Group::Lock,
        Action::Keep(_) => Group::Keep,
    }
}
