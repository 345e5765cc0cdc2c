#!/bin/sh
# KEY[*] [yes]: one trailing * dropped; yes deletes every key starting with KEY.
. "$(dirname "$0")/common.sh"
k="${1%\*}"
if [ "$2" = "yes" ]; then
  s3cmd $S3 --recursive --force del "s3://$bucket/$k"
else
  s3cmd $S3 --force del "s3://$bucket/$k"
fi
