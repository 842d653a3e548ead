#!/bin/sh
# Renders the Redis ACL file: the rules of users.acl (no passwords in the repository) plus one password per
# role, taken from the environment and stored as SHA-256. Refuses to run when a password is missing or
# shorter than 16 characters, naming the variable. docker-compose.yml runs it before redis-server.
# The rules are written for the key prefix `ab`; AB_KEY_PREFIX (the services' setting of the same name)
# renders them for another prefix: every key pattern `~ab:` and channel pattern `&ab:` is rewritten.
#
#   AB_REDIS_BRIDGE_PASSWORD=... AB_REDIS_GATEWAY_PASSWORD=... AB_REDIS_AGENT_PASSWORD=... \
#   AB_REDIS_OPS_PASSWORD=... [AB_KEY_PREFIX=ab] sh infra/redis/render-acl.sh infra/redis/users.acl /data/users.acl
set -eu
rules="$1"
out="$2"
prefix="${AB_KEY_PREFIX:-ab}"
# Letters, digits, '.', '_' and '-' only: anything else could be a glob character in an ACL pattern.
if ! printf '%s' "$prefix" | grep -Eq '^[A-Za-z0-9._-]+$'; then
  echo "render-acl: AB_KEY_PREFIX must be letters, digits, '.', '_' or '-' (got \"$prefix\")" >&2
  exit 1
fi
tmp="$out.tmp.$$"
sed -e "s/~ab:/~$prefix:/g" -e "s/&ab:/\&$prefix:/g" "$rules" >"$tmp"
for role in bridge gateway agent ops; do
  var="AB_REDIS_$(echo "$role" | tr '[:lower:]' '[:upper:]')_PASSWORD"
  eval "pw=\${$var:-}"
  if [ "${#pw}" -lt 16 ]; then
    echo "render-acl: $var must be set to a password of at least 16 characters" >&2
    rm -f "$tmp"
    exit 1
  fi
  hash="$(printf '%s' "$pw" | sha256sum | cut -d' ' -f1)"
  sed -i "s/^user $role on /user $role on #$hash /" "$tmp"
done
mv "$tmp" "$out"
