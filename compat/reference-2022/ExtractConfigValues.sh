#!/bin/sh
. "$(dirname "$0")/common.sh"
[ -z "$1" ] && exit 0
if [ "$2" = "stripped" ]; then
  grep -a "^$1:" "$settings" | awk -F: '{$1 = ""; print $0}' | sed 's/^ //' | sed 's/ $//'
else
  grep -a "^$1:" "$settings"
fi
