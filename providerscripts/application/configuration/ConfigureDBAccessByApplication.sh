#!/bin/sh
# adt-rs launcher (2022 repository tree): providerscripts/application/configuration/ConfigureDBAccessByApplication.sh runs `adt ConfigureDBAccessByApplication`.
d=$(dirname "$0")
for b in "${ADT_BIN:-}" "$d/../../../target/release/adt" "$d/../../../target/debug/adt" /usr/local/bin/adt; do
  [ -n "$b" ] && [ -x "$b" ] && exec "$b" --adt-generation=2022 --adt-argv0="$0" ConfigureDBAccessByApplication "$@"
done
echo "providerscripts/application/configuration/ConfigureDBAccessByApplication.sh: adt binary not found (set ADT_BIN)" >&2
exit 127
