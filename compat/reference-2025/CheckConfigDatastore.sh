#!/bin/sh
# KEY: 1 when a non-recursive listing of KEY shows anything, else 0.
. "$(dirname "$0")/common.sh"
if [ -z "$1" ]; then echo 0; exit; fi
if [ -n "$(s3cmd $S3 ls "s3://$bucket/$1" 2> /dev/null)" ]; then echo 1; else echo 0; fi
