#!/bin/sh
. "$(dirname "$0")/common.sh"
[ -n "$1" ] || exit 0
if [ "$2" = "stripped" ]; then
  grep -a "^$1:" "$settings" | awk -F: '{$1=""; print $0}' | sed -e 's/^ //' -e 's/ $//' | drop_empty
else
  case "$M" in
    autoscaler|database) grep -a "^$1:" "$settings" | sed '/^$/d' ;;
    *) grep -a "^$1:" "$settings" ;;
  esac
fi
