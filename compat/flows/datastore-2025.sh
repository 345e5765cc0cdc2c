#!/bin/sh
# A 2025 machine's config-datastore and settings traffic, written the way the end-2025 call
# sites use the wrappers and readers (PLACE as a directory, "yes"/"no" for removing the file,
# recursive List, STATIC_SCALE markers, Get into a directory). Prints a transcript; the parity
# test runs it against our launchers (WRAP and UTIL unset: the 2025 paths under $HOME) and
# against compat/reference-2025.
W=${WRAP:-${HOME}/providerscripts/datastore/configwrapper}
U=${UTIL:-${HOME}/utilities/config}
T=${ADT_TMP:-/tmp}
R=${HOME}/runtime

echo "== publish"
${W}/PutToConfigDatastore.sh 10.0.0.5 webserverips "no"; echo "rc $?"
if ( [ -f ${T}/10.0.0.5 ] ); then echo "marker kept in tmp"; fi
${W}/PutToConfigDatastore.sh 10.0.0.50 webserverips "yes"
if ( [ ! -f ${T}/10.0.0.50 ] ); then echo "marker removed"; fi
${W}/PutToConfigDatastore.sh 203.0.113.9 webserverpublicips "yes"
${W}/PutToConfigDatastore.sh INSTALLED_SUCCESSFULLY "" "yes"
printf 'define( "DB_NAME", "app" );\n' > ${R}/wordpress_config.php
${W}/PutToConfigDatastore.sh ${R}/wordpress_config.php "" "no"; echo "rc $?"
if ( [ -f ${R}/wordpress_config.php ] ); then echo "source kept"; fi
printf 'cert\n' > ${R}/fullchain.pem
${W}/PutToConfigDatastore.sh ${R}/fullchain.pem ssl/www.example.com "yes"
if ( [ ! -f ${R}/fullchain.pem ] ); then echo "source removed"; fi

echo "== list"
for i in `${W}/ListFromConfigDatastore.sh webserverips/*`; do echo "peer ${i}"; done
echo "count `${W}/ListFromConfigDatastore.sh "webserverips/*" | /usr/bin/wc -l`"
echo "prefix [`${W}/ListFromConfigDatastore.sh webserver | /usr/bin/tr '\n' ' '`]"
echo "deep [`${W}/ListFromConfigDatastore.sh ssl`]"
if ( [ "`${W}/ListFromConfigDatastore.sh databaseip/*`" = "" ] ); then echo "no database yet"; fi
echo "rc-list $?"

echo "== check"
if ( [ "`${W}/CheckConfigDatastore.sh "INSTALLED_SUCCESSFULLY"`" = "1" ] ); then echo "installed"; fi
if ( [ "`${W}/CheckConfigDatastore.sh "SWITCH_OFF_SCALING"`" = "0" ] ); then echo "scaling on"; fi
echo "prefix `${W}/CheckConfigDatastore.sh webserver` dir `${W}/CheckConfigDatastore.sh webserverips/` empty `${W}/CheckConfigDatastore.sh ''`"

echo "== get"
${W}/GetFromConfigDatastore.sh wordpress_config.php ${R}/fetched; echo "rc $?"
echo "fetched `/bin/cat ${R}/fetched/wordpress_config.php`"
${W}/GetFromConfigDatastore.sh ssl/www.example.com/fullchain.pem ${R}/verify
echo "cert `/bin/cat ${R}/verify/fullchain.pem`"
${W}/GetFromConfigDatastore.sh nothere ${R}/nothing; echo "rc $?"
${W}/GetFromConfigDatastore.sh webserverips ${R}/all
echo "tree `cd ${R}/all && /usr/bin/find . -type f | /usr/bin/sort | /usr/bin/tr '\n' ' '`"
echo "old" > ${R}/single
${W}/GetFromConfigDatastore.sh wordpress_config.php ${R}/single
echo "into file `/bin/cat ${R}/single`"

if ( [ "${REF_MACHINE}" = "webserver" ] ); then
  echo "== sync"
  /bin/mkdir -p ${R}/sync-src
  printf 'one\n' > ${R}/sync-src/additions.1.tar.gz
  printf 'two\n' > ${R}/sync-src/additions.2.tar.gz
  ${W}/PutToConfigDatastore.sh ${R}/sync-src/additions.1.tar.gz webrootsync/additions "no"
  ${W}/PutToConfigDatastore.sh ${R}/sync-src/additions.2.tar.gz webrootsync/additions "no"
  ${W}/SyncFromConfigDatastore.sh webrootsync/additions ${R}/incoming/additions; echo "rc $?"
  echo "synced `cd ${R}/incoming && /usr/bin/find . -type f | /usr/bin/sort | /usr/bin/tr '\n' ' '`"
  ${W}/SyncFromConfigDatastore.sh webrootsync/additions ${R}/incoming/additions; echo "again rc $?"
  echo "content `/bin/cat ${R}/incoming/additions/additions/additions.2.tar.gz`"
  ${W}/DeleteFromConfigDatastore.sh webrootsync "yes" > /dev/null
fi

echo "== scaling markers"
/bin/mkdir -p ${R}/scaling
/bin/touch ${R}/scaling/STATIC_SCALE:2:1
${W}/PutToConfigDatastore.sh ${R}/scaling/STATIC_SCALE:2:1 "" "no"
values="`${W}/ListFromConfigDatastore.sh STATIC_SCALE:* | /bin/sed -e 's/STATIC_SCALE//g' -e 's/:/ /g' -e 's/^ //g'`"
echo "scale [${values}]"
${W}/DeleteFromConfigDatastore.sh STATIC_SCALE: "yes"; echo "rc $?"
echo "after [`${W}/ListFromConfigDatastore.sh STATIC_SCALE:*`]"

echo "== delete"
${W}/DeleteFromConfigDatastore.sh "webserverips/10.0.0.5"; echo "rc $?"
${W}/DeleteFromConfigDatastore.sh webserverips/* 2> /dev/null; echo "rc $?"
${W}/DeleteFromConfigDatastore.sh webserverpublicips "yes"; echo "rc $?"
${W}/DeleteFromConfigDatastore.sh nothere; echo "rc $?"
echo "left [`${W}/ListFromConfigDatastore.sh webserver | /usr/bin/tr '\n' ' '`]"
echo "glob check `${W}/CheckConfigDatastore.sh 'webserverips/*'`"
${W}/DeleteFromConfigDatastore.sh 'webserverips/10.*.50'; echo "rc $?"
echo "left2 [`${W}/ListFromConfigDatastore.sh webserver | /usr/bin/tr '\n' ' '`]"
printf 'x\n' > ${R}/placed.txt
${W}/PutToConfigDatastore.sh ${R}/placed.txt misc/ "no"
echo "placed [`${W}/ListFromConfigDatastore.sh misc`]"

echo "== readers"
echo "os [`${U}/ExtractConfigValue.sh BUILDOS`] url [`${U}/ExtractConfigValue.sh WEBSITEURL`] empty [`${U}/ExtractConfigValue.sh EMPTYVALUE`] missing [`${U}/ExtractConfigValue.sh NOPE`]"
echo "values [`${U}/ExtractConfigValues.sh BUILDOS`] stripped [`${U}/ExtractConfigValues.sh BUILDOS stripped`]"
echo "empties [`${U}/ExtractConfigValues.sh EMPTYVALUE stripped | /usr/bin/wc -l`]"
echo "style [`${U}/ExtractBuildStyleValues.sh DATASTORETOOL stripped`] rc $?"
echo "check `${U}/CheckConfigValue.sh PRODUCTION:1` `${U}/CheckConfigValue.sh MISSING` `${U}/CheckConfigValue.sh ''`"
echo "tool `${U}/CheckBuildStyle.sh DATASTORETOOL:s3cmd` `${U}/CheckBuildStyle.sh DATASTORETOOL:rclone`"
${U}/StoreConfigValue.sh MYIP 10.0.0.9
${U}/StoreConfigValue.sh SSHPORT 2222
echo "stored [`${U}/ExtractConfigValue.sh MYIP`] [`${U}/ExtractConfigValue.sh SSHPORT`] old [`${U}/ExtractConfigValue.sh OLDMYIP`]"
