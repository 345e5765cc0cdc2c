#!/bin/sh
. "$(dirname "$0")/common.sh"
if [ -n "$(grep -a "^$1" "$styles")" ]; then echo 1; else echo 0; fi
