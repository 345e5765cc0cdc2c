#!/bin/sh
. "$(dirname "$0")/common.sh"
if [ -z "$1" ]; then echo 0; exit; fi
if [ -z "$(s3cmd ls "s3://$bucket/$1")" ]; then echo 0; else echo 1; fi
