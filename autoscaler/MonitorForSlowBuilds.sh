#!/bin/sh
# adt-rs launcher (2022 repository tree): autoscaler/MonitorForSlowBuilds.sh runs `adt MonitorForSlowBuilds`.
d=$(dirname "$0")
for b in "${ADT_BIN:-}" "$d/../target/release/adt" "$d/../target/debug/adt" /usr/local/bin/adt; do
  [ -n "$b" ] && [ -x "$b" ] && exec "$b" --adt-generation=2022 --adt-argv0="$0" MonitorForSlowBuilds "$@"
done
echo "autoscaler/MonitorForSlowBuilds.sh: adt binary not found (set ADT_BIN)" >&2
exit 127
