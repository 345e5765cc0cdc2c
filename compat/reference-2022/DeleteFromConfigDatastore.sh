#!/bin/sh
. "$(dirname "$0")/common.sh"
s3cmd --force del "s3://$bucket/$1"
