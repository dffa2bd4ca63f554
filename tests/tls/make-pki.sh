#!/bin/sh
# A throw-away PKI for the TLS tests, made with openssl in DIR:
#   ca.pem ca.key             a test certificate authority
#   server.pem server.key     localhost, 127.0.0.1, ::1 (signed by the CA)
#   expired.pem expired.key   localhost, 127.0.0.1, expired in 2020
#   wrongname.pem .key        other.example only
#   client.pem client.key     a client certificate (signed by the CA)
#   selfsigned.pem .key       localhost, signed by itself (CA:TRUE, as
#                             `openssl req -x509` makes them)
#   server-enc.key            server.key encrypted with the password "secret"
#   plain.pem                 not a certificate at all
# Usage: make-pki.sh DIR
set -e
cd "$1"
q() { "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; }
key() { q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
key ca.key
q openssl req -x509 -key ca.key -out ca.pem -days 3650 -subj "/CN=netlisp test CA"
mkdir -p db
: > db/index
echo 1000 > db/serial
cat > ca.cnf <<CNF
[ca]
default_ca = test
[test]
database = db/index
serial = db/serial
new_certs_dir = db
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
CNF
# leaf NAME SUBJECT-ALT-NAMES openssl-ca-date-arguments...
leaf() {
    n=$1
    san=$2
    shift 2
    key "$n.key"
    q openssl req -new -key "$n.key" -out "$n.csr" -subj "/CN=$n"
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" > "$n.ext"
    q openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in "$n.csr" \
        -out "$n.pem" -extfile "$n.ext" -notext "$@"
}
leaf server "DNS:localhost,IP:127.0.0.1,IP:::1" -days 365
leaf expired "DNS:localhost,IP:127.0.0.1" -startdate 20200101000000Z -enddate 20200201000000Z
leaf wrongname "DNS:other.example" -days 365
leaf client "DNS:client.example" -days 365
key selfsigned.key
q openssl req -x509 -key selfsigned.key -out selfsigned.pem -days 365 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"
q openssl pkey -in server.key -out server-enc.key -aes256 -passout pass:secret
echo "just text" > plain.pem
