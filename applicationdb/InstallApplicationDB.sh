#!/bin/sh
# adt-rs launcher (2022 repository tree): applicationdb/InstallApplicationDB.sh runs `adt InstallApplicationDB`.
# Legacy code sources this file: the kept legacy script is sourced as before, then
# our step runs (no exec, no arguments).
if [ -f "$HOME/applicationdb/InstallApplicationDB.sh.adt-legacy" ]; then . "$HOME/applicationdb/InstallApplicationDB.sh.adt-legacy"; else echo "$HOME/applicationdb/InstallApplicationDB.sh.adt-legacy is missing: its legacy step did not run" >&2; fi
"${ADT_BIN:-/usr/local/bin/adt}" --adt-generation=2022 InstallApplicationDB
