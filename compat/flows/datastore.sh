#!/bin/sh
# A machine's config-datastore traffic, written the way 2022 call sites use the wrappers
# (backticks, [ "`…`" = "1" ], word lists from List, /tmp/<basename> after a Get,
# /bin/sh on a wrapper path). Prints a transcript; the parity test runs it against our
# launchers (WRAP unset: the legacy paths under $HOME) and against compat/reference-2022.
W=${WRAP:-${HOME}/providerscripts/datastore/configwrapper}
T=${ADT_TMP:-/tmp}
ip=10.0.0.5

echo "== publish"
${W}/PutToConfigDatastore.sh webserverips/${ip} webserverips/${ip}; echo "rc $?"
/bin/sh ${W}/PutToConfigDatastore.sh webserverips/10.0.0.50 webserverips/10.0.0.50
${W}/PutToConfigDatastore.sh webserverpublicips/203.0.113.9 webserverpublicips/203.0.113.9
${W}/PutToConfigDatastore.sh INSTALLEDSUCCESSFULLY
${W}/PutToConfigDatastore.sh DBPREFIX:abc

echo "== list"
for i in `${W}/ListFromConfigDatastore.sh webserverips/*`; do echo "peer ${i}"; done
echo "words `${W}/ListFromConfigDatastore.sh "webserverips/*" | /usr/bin/tr '\n' ' ' | /usr/bin/wc -w`"
host="`${W}/ListFromConfigDatastore.sh webserverips/* | /usr/bin/head -1`"
echo "first ${host}"
dbprefix="`${W}/ListFromConfigDatastore.sh DBPREFIX:*`"
echo "dbprefix ${dbprefix} value `${W}/ListFromConfigDatastore.sh DBPREFIX:* | /usr/bin/awk -F':' '{print $NF}'`"
if ( [ "`${W}/ListFromConfigDatastore.sh databaseip/*`" = "" ] ); then echo "no database yet"; fi
echo "root [`${W}/ListFromConfigDatastore.sh webserver`]"
echo "rc-list $?"

echo "== check"
if ( [ "`${W}/CheckConfigDatastore.sh "INSTALLEDSUCCESSFULLY"`" = "1" ] ); then echo "installed"; fi
if ( [ "`${W}/CheckConfigDatastore.sh "credentials/shit"`" = "0" ] ); then echo "no credentials yet"; fi
echo "prefix `${W}/CheckConfigDatastore.sh webserver` dir `${W}/CheckConfigDatastore.sh webserverips/` glob `${W}/CheckConfigDatastore.sh 'webserverips/*'`"
echo "partial `${W}/CheckConfigDatastore.sh webserverips/10.0.0.5`"
echo "empty `${W}/CheckConfigDatastore.sh ''` absent `${W}/CheckConfigDatastore.sh nothere`"

echo "== credentials"
printf 'appdb\ns3cr3t-pw\nappuser\n' > ${HOME}/shit
${W}/PutToConfigDatastore.sh ${HOME}/shit credentials/shit
DB_N="`${W}/GetDBCredential.sh "credentials/shit" 1`"
DB_P="`${W}/GetDBCredential.sh "credentials/shit" 2`"
DB_U="`${W}/GetDBCredential.sh credentials/shit 3`"
echo "db ${DB_N} user ${DB_U} pw-length ${#DB_P}"
echo "line4 [`${W}/GetDBCredential.sh credentials/shit 4`] rc $?"
if ( [ "`${W}/CheckConfigDatastore.sh "credentials/shit"`" = "1" ] ); then echo "credentials present"; fi

echo "== profile"
printf 'SCALING_MODE=static\nNO_WEBSERVERS=3\n' > ${HOME}/profile.cnf
${W}/PutToConfigDatastore.sh ${HOME}/profile.cnf scalingprofile/profile.cnf
/bin/rm -f ${T}/profile.cnf
${W}/GetFromConfigDatastore.sh "scalingprofile/profile.cnf"; echo "rc $?"
if ( [ -f ${T}/profile.cnf ] ); then echo "profile `/bin/grep NO_WEBSERVERS ${T}/profile.cnf`"; fi
${W}/GetFromConfigDatastore.sh scalingprofile/profile.cnf ${HOME}/copy.cnf
/usr/bin/cmp ${HOME}/profile.cnf ${HOME}/copy.cnf && echo "copy identical"
mkdir -p ${HOME}/dl && cd ${HOME}/dl && ${W}/GetFromConfigDatastore.sh scalingprofile/profile.cnf . && ls ${HOME}/dl
cd ${HOME}
printf 'from-cwd\n' > ./relative.txt
${W}/PutToConfigDatastore.sh relative.txt misc/
printf 'from-tmp\n' > ${T}/intmp.txt
${W}/PutToConfigDatastore.sh intmp.txt misc/intmp.txt
for f in `${W}/ListFromConfigDatastore.sh misc/`; do echo "misc ${f}"; done
${W}/GetFromConfigDatastore.sh misc/intmp.txt; echo "intmp `cat ${T}/intmp.txt`"

echo "== delete"
${W}/DeleteFromConfigDatastore.sh "webserverips/${ip}"; echo "rc $?"
${W}/DeleteFromConfigDatastore.sh "DBPREFIX:abc"
${W}/DeleteFromConfigDatastore.sh "webserverips/10.9.9.9"; echo "rc $?"
echo "after [`${W}/ListFromConfigDatastore.sh webserverips/*`]"
echo "check-after `${W}/CheckConfigDatastore.sh webserverips/10.0.0.5`"
