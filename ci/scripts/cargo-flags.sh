# Sourced by the other scripts. A committed Cargo.lock is honoured exactly
# (--locked); a repository fresh from `cargo generate` has none yet, and cargo
# resolves one.
locked=()
if [ -f Cargo.lock ]; then
  locked=(--locked)
fi
