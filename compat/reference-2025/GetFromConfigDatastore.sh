#!/bin/sh
# KEY [DEST]: recursive fetch into DEST (a directory, made when missing; default .).
. "$(dirname "$0")/common.sh"
orig=$(value WEBSITEURLORIGINAL)
[ -n "$orig" ] && bucket=$(bucket_for "$orig")
d=${2:-.}
[ -d "$d" ] || mkdir -p "$d" 2> /dev/null
if [ -z "$(s3cmd $S3 --force --recursive ls "s3://$bucket/$1" 2> /dev/null)" ]; then
  echo "Key doesn't exist"
else
  s3cmd $S3 --force --recursive get "s3://$bucket/$1" "$d" > /dev/null 2>&1
fi
exit 0
