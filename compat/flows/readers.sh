#!/bin/sh
# The config readers as legacy scripts call them. UTIL unset: our launchers at the legacy paths.
U=${UTIL:-${HOME}/providerscripts/utilities}
echo "url `${U}/ExtractConfigValue.sh 'WEBSITEURL'`"
echo "os [`${U}/ExtractConfigValue.sh BUILDOS`] missing [`${U}/ExtractConfigValue.sh NOPE`] empty [`${U}/ExtractConfigValue.sh ''`]"
echo "values [`${U}/ExtractConfigValues.sh BUILDOS`] rc $?"
echo "stripped [`${U}/ExtractConfigValues.sh BUILDOS stripped`]"
echo "values-missing [`${U}/ExtractConfigValues.sh NOPE`]"; ${U}/ExtractConfigValues.sh NOPE; echo "rc $?"
if ( [ "`${U}/CheckConfigValue.sh PRODUCTION:1`" = "1" ] ); then echo "production"; fi
echo "substring `${U}/CheckConfigValue.sh AUTOSCALE` regex `${U}/CheckConfigValue.sh 'BUILD.*20'` empty `${U}/CheckConfigValue.sh ''`"
echo "style `${U}/CheckBuildStyle.sh NGINX:source` not `${U}/CheckBuildStyle.sh source` blank `${U}/CheckBuildStyle.sh ''`"
S=${HOME}/.ssh/${REF_MACHINE:-webserver}_configuration_settings.dat
${U}/StoreConfigValue.sh "BUILDCLIENTIP" "192.0.2.7"
${U}/StoreConfigValue.sh "SSHPORT" "2222"
${U}/StoreConfigValue.sh "FLAGONLY"
echo "stored `${U}/ExtractConfigValue.sh BUILDCLIENTIP` port `${U}/ExtractConfigValue.sh SSHPORT`"
cat ${S}
