#!/bin/sh
# adt-rs launcher (2022 repository tree): providerscripts/security/firewall/TightenDBaaSFirewall.sh runs `adt TightenDBaaSFirewall`.
# Legacy code sources this file: it neither execs nor takes arguments.
"${ADT_BIN:-/usr/local/bin/adt}" --adt-generation=2022 TightenDBaaSFirewall
