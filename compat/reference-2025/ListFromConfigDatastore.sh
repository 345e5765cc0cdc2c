#!/bin/sh
# PREFIX[*]: the last path element of every key under PREFIX, recursively.
. "$(dirname "$0")/common.sh"
s3cmd $S3 --force --recursive ls "s3://$bucket/$1" 2> /dev/null | awk '{print $NF}' | awk -F/ '{print $NF}' | sed '/^$/d'
