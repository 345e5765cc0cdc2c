#!/bin/sh
. "$(dirname "$0")/common.sh"
if [ -z "$1" ]; then echo 0; exit; fi
if [ -n "$(grep -a "$1" "$settings")" ]; then echo 1; else echo 0; fi
