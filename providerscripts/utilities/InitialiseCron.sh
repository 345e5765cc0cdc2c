#!/bin/sh
# adt-rs launcher (2022 repository tree): providerscripts/utilities/InitialiseCron.sh runs `adt InitialiseCron`.
# Legacy code sources this file: it neither execs nor takes arguments.
"${ADT_BIN:-/usr/local/bin/adt}" --adt-generation=2022 InitialiseCron
