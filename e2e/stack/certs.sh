#!/usr/bin/env bash
# Creates the stack's PKI with openssl (idempotent: existing files are kept):
#   pki/ca.{crt,key}          cluster CA (signs the apiserver's serving certificate)
#   pki/apiserver.{crt,key}   serving cert for 127.0.0.1 / localhost / kubernetes.default.svc
#   pki/sa.{key,pub}          service-account token signing key pair
#   pki/tokens.csv            static bearer token of the admin user (group system:masters)
# The kubeconfig is written by apiserver.sh, which knows the port.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
stack_dirs
cd "$STACK_PKI"

if [ ! -f ca.crt ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=respawn-e2e-ca" \
    -keyout ca.key -out ca.crt 2>/dev/null
fi

if [ ! -f apiserver.crt ]; then
  cat >apiserver.ext <<'EXT'
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, IP:10.96.0.1, DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local
EXT
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
    -keyout apiserver.key -out apiserver.csr 2>/dev/null
  openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
    -extfile apiserver.ext -out apiserver.crt 2>/dev/null
  rm -f apiserver.csr
fi

if [ ! -f sa.key ]; then
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
fi

if [ ! -f tokens.csv ]; then
  token="$(openssl rand -hex 24)"
  echo "$token,respawn-admin,respawn-admin,system:masters" >tokens.csv
  chmod 600 tokens.csv
fi
echo "$STACK_PKI"
