#!/bin/sh
# adt-rs launcher (2022 repository tree): providerscripts/datastore/PurgeDatastore.sh runs `adt PurgeDatastore`.
# Legacy code sources this file: it neither execs nor takes arguments.
WEBSITE_URL="${WEBSITE_URL:-}" DATASTORE_CHOICE="${DATASTORE_CHOICE:-}" "${ADT_BIN:-/usr/local/bin/adt}" --adt-generation=2022 PurgeDatastore
