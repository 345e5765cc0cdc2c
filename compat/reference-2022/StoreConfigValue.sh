#!/bin/sh
# The autoscaler/database form (append with echo).
. "$(dirname "$0")/common.sh"
sed -i '/:/!d' "$settings"
if [ -n "$1" ] && [ -n "$2" ]; then
  sed -i "/.*$1:/d" "$settings"; echo "$1:$2" >> "$settings"
elif [ -n "$1" ]; then
  sed -i "/.*$1\$/d" "$settings"; echo "$1" >> "$settings"
fi
