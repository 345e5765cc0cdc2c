#!/bin/sh
# KEY: everything after the first colon (the last field when the lines hold one colon).
. "$(dirname "$0")/common.sh"
[ -n "$1" ] || exit 0
n=$(grep -a "^$1:" "$settings" | grep -o ':' | grep -c ':')
if [ "$n" -gt 1 ]; then grep -a "^$1:" "$settings" | cut -d: -f2- | drop_empty
else grep -a "^$1:" "$settings" | awk -F: '{print $NF}' | drop_empty; fi
