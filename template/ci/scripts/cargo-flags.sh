{% raw %}# Sourced by the other scripts. A committed Cargo.lock is honoured exactly
# (--locked): strata ships one with every generated repository; a repository
# without one gets one resolved by cargo.
locked=()
if [ -f Cargo.lock ]; then
  locked=(--locked)
fi
{% endraw %}