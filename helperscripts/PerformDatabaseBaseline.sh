#!/bin/sh
# adt-rs launcher (2022 repository tree): helperscripts/PerformDatabaseBaseline.sh runs `adt PerformDatabaseBaseline`.
d=$(dirname "$0")
for b in "${ADT_BIN:-}" "$d/../target/release/adt" "$d/../target/debug/adt" /usr/local/bin/adt; do
  [ -n "$b" ] && [ -x "$b" ] && exec "$b" --adt-generation=2022 --adt-argv0="$0" PerformDatabaseBaseline "$@"
done
echo "helperscripts/PerformDatabaseBaseline.sh: adt binary not found (set ADT_BIN)" >&2
exit 127
