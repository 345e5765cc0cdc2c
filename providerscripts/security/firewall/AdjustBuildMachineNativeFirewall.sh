#!/bin/sh
# adt-rs launcher (2022 repository tree): providerscripts/security/firewall/AdjustBuildMachineNativeFirewall.sh runs `adt AdjustBuildMachineNativeFirewall`.
# Legacy code sources this file: it neither execs nor takes arguments.
CLOUDHOST="${CLOUDHOST:-}" SSH_PORT="${SSH_PORT:-}" ips="${ips:-}" BUILD_HOME="${BUILD_HOME:-}" BUILD_CLIENT_IP="${BUILD_CLIENT_IP:-}" REGION="${REGION:-}" "${ADT_BIN:-/usr/local/bin/adt}" --adt-generation=2022 AdjustBuildMachineNativeFirewall
