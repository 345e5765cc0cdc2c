#!/bin/sh
# adt-rs launcher (2022 repository tree): providerscripts/utilities/SetupInfrastructureIPs.sh runs `adt SetupInfrastructureIPs`.
# Legacy code sources this file: it neither execs nor takes arguments.
eval "$("${ADT_BIN:-/usr/local/bin/adt}" --adt-generation=2022 SetupInfrastructureIPs)"
