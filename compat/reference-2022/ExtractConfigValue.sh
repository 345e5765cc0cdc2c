#!/bin/sh
. "$(dirname "$0")/common.sh"
[ -n "$1" ] && grep -a "^$1:" "$settings" | awk -F: '{print $NF}'
exit 0
