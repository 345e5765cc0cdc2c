#!/bin/sh
. "$(dirname "$0")/common.sh"
s3cmd ls "s3://$bucket/$1" | awk -F/ '{print $NF}' | sed '/^$/d'
