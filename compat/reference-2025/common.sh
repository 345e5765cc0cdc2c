# Reference model of the 2025 wrappers' and readers' observable behaviour (bash + s3cmd with the
# machine's first account file, .s3cfg-1), written from what the end-2025 scripts of
# wintersys-projects/adt-*-scripts do when DATASTORETOOL is s3cmd. It is not the legacy code:
# it reproduces what callers observe (stdout, files, keys, exit status) for the parity tests.
# The legacy scripts also passed --host=https://<host_base>; the test store speaks plain http, so
# the model takes the endpoint and scheme from the file alone.
# REF_MACHINE selects the settings file (default webserver); ADT_TMP stands for /tmp and
# ADT_ROOT_DIR for /root.
HOME=$(cat "${ADT_HOMEDIR_FILE:-/home/homedir.dat}")
export HOME
T=${ADT_TMP:-/tmp}
ROOT=${ADT_ROOT_DIR:-/root}
M=${REF_MACHINE:-webserver}
settings="$HOME/runtime/${M}_configuration_settings.dat"
styles="$HOME/runtime/buildstyles.dat"
value() { grep -a "^$1:" "$settings" | cut -d: -f2- | head -1; }
bucket_for() {
  token=$(printf '%s' "$(value SERVERUSER)" | cut -c1-4 | tr '[:upper:]' '[:lower:]')
  echo "$(echo "$1" | sed 's/\./-/g')-config-$token"
}
bucket=$(bucket_for "$(value WEBSITEURL)")
S3="--config=$ROOT/.s3cfg-1"
# sed '/^$/d' at the end of the autoscaler's and database's extract pipelines.
drop_empty() { case "$M" in autoscaler|database) sed '/^$/d' ;; *) cat ;; esac; }
