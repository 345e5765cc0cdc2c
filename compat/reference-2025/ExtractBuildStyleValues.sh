#!/bin/sh
. "$(dirname "$0")/common.sh"
[ -n "$1" ] || exit 0
if [ "$2" = "stripped" ]; then
  grep -a "^$1:" "$styles" | awk -F: '{$1=""; print $0}' | sed -e 's/^ //' -e 's/ $//' -e '/^$/d'
else
  grep -a "^$1:" "$styles" | sed '/^$/d'
fi
