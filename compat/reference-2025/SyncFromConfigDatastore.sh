#!/bin/sh
# KEY [DEST] (webserver): s3cmd's recursive sync into DEST; prints nothing.
. "$(dirname "$0")/common.sh"
orig=$(value WEBSITEURLORIGINAL)
[ -n "$orig" ] && bucket=$(bucket_for "$orig")
d=${2:-.}
[ -d "$d" ] || mkdir -p "$d" 2> /dev/null
s3cmd $S3 --force --recursive sync "s3://$bucket/$1" "$d" > /dev/null 2>&1
exit 0
