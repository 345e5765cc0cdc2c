#!/bin/sh
# FILE [PLACE] [yes]: a missing FILE is a marker (in /tmp); yes removes the file afterwards.
. "$(dirname "$0")/common.sh"
f="$1"
if [ ! -f "$f" ]; then
  case "$f" in
    */*) f="$T/${f#/}"; mkdir -p "$(dirname "$f")"; : > "$f" ;;
    *) f="$T/$f"; touch "$f" ;;
  esac
fi
if [ -n "$2" ]; then to="s3://$bucket/$2/"; else to="s3://$bucket"; fi
s3cmd $S3 --force put "$f" "$to" > /dev/null 2>&1
if [ "$3" = "yes" ] && [ -f "$f" ]; then rm "$f"; fi
exit 0
