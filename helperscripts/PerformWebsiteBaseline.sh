#!/bin/sh
# adt-rs launcher (2022 repository tree): helperscripts/PerformWebsiteBaseline.sh runs `adt PerformWebsiteBaseline`.
d=$(dirname "$0")
for b in "${ADT_BIN:-}" "$d/../target/release/adt" "$d/../target/debug/adt" /usr/local/bin/adt; do
  [ -n "$b" ] && [ -x "$b" ] && exec "$b" --adt-generation=2022 --adt-argv0="$0" PerformWebsiteBaseline "$@"
done
echo "helperscripts/PerformWebsiteBaseline.sh: adt binary not found (set ADT_BIN)" >&2
exit 127
