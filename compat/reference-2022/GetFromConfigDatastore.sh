#!/bin/sh
. "$(dirname "$0")/common.sh"
s3cmd --force get "s3://$bucket/$1" "$T/"
if [ -n "$2" ]; then s3cmd --force get "s3://$bucket/$1" "$2"; fi
if [ "$3" = "recursive" ]; then s3cmd --force --recursive get "s3://$bucket/$1" "$2"; fi
