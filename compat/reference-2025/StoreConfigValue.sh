#!/bin/sh
# KEY [VALUE]: nothing without a settings file; lines without ':' dropped; the old KEY line(s)
# replaced (autoscaler: lines starting KEY:, others: lines containing it) by KEY:VALUE at the end.
. "$(dirname "$0")/common.sh"
[ -f "$settings" ] || exit 0
sed -i '/:/!d' "$settings"
[ -n "$1" ] || exit 0
case "$M" in autoscaler) pat="^$1" ;; *) pat=".*$1" ;; esac
if [ -n "$2" ]; then sed -i "/$pat:/d" "$settings"; line="$1:$2"
else sed -i "/$pat\$/d" "$settings"; line="$1"; fi
if [ "$M" = "webserver" ]; then
  sed -i "\$ a\\ $line" "$settings"; sed -i 's/^ //g' "$settings"
else
  echo "$line" >> "$settings"
fi
