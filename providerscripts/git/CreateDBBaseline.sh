#!/bin/sh
# adt-rs launcher (2022 repository tree): providerscripts/git/CreateDBBaseline.sh runs `adt CreateDBBaseline`.
d=$(dirname "$0")
for b in "${ADT_BIN:-}" "$d/../../target/release/adt" "$d/../../target/debug/adt" /usr/local/bin/adt; do
  [ -n "$b" ] && [ -x "$b" ] && exec "$b" --adt-generation=2022 --adt-argv0="$0" CreateDBBaseline "$@"
done
echo "providerscripts/git/CreateDBBaseline.sh: adt binary not found (set ADT_BIN)" >&2
exit 127
