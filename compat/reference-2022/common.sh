# Reference model of the 2022 wrappers' observable behaviour (bash + s3cmd), written from
# shared/spec/config-system-2022.md for the parity tests and the benchmark. It is not the
# legacy code: it reproduces what callers observe (stdout, files, keys, exit status).
# REF_MACHINE selects the settings file (default webserver); ADT_TMP stands for /tmp.
HOME=$(cat "${ADT_HOMEDIR_FILE:-/home/homedir.dat}")
export HOME
T=${ADT_TMP:-/tmp}
settings="$HOME/.ssh/${REF_MACHINE:-webserver}_configuration_settings.dat"
url=$(grep -a "^WEBSITEURL:" "$settings" | awk -F: '{print $NF}')
bucket="$(echo "$url" | awk -F. '{for (i = 1; i <= NF; i++) print substr($i, 1, 3)}' | tr -d '\n-')-config"
