#!/bin/sh
. "$(dirname "$0")/common.sh"
if [ "$3" = "recursive" ]; then
  s3cmd --recursive put "$1" "s3://$bucket/$2"
elif [ -f "$1" ]; then
  s3cmd put "$1" "s3://$bucket/$2"
elif [ -f "$T/$1" ]; then
  s3cmd put "$T/$1" "s3://$bucket/$2"
else
  mkdir -p "$(dirname "$T/$1")" && touch "$T/$1"
  s3cmd put "$T/$1" "s3://$bucket/$2"
  rm -f "$T/$1"
fi
