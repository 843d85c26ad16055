#!/usr/bin/env bash
# Create a private CA and a broker certificate for a camwatch pilot (not for national roll-out:
# there, use the ministry's PKI). Writes ca.crt, ca.key, broker.crt, broker.key into OUT_DIR.
#
#   deploy/mosquitto/make-pilot-ca.sh OUT_DIR BROKER_DNS_NAME [BROKER_IP ...]
#
# Keep ca.key offline. Give ca.crt to every agent (broker.ca_file in agent.yaml); install
# broker.crt/broker.key as /etc/mosquitto/certs/ (owner mosquitto, key mode 0600).
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 OUT_DIR BROKER_DNS_NAME [BROKER_IP ...]" >&2
    exit 2
fi
out="$1"; name="$2"; shift 2
days_ca=3650
days_broker=825   # under the 27-month ceiling clients enforce for server certificates

mkdir -p "$out"
umask 077

san="DNS:${name}"
for ip in "$@"; do san="${san},IP:${ip}"; done

# CA: EC P-256, self-signed, may only sign certificates.
openssl ecparam -name prime256v1 -genkey -noout -out "$out/ca.key"
openssl req -x509 -new -key "$out/ca.key" -sha256 -days "$days_ca" \
    -subj "/O=camwatch pilot/CN=camwatch pilot CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$out/ca.crt"

# Broker: EC P-256 key, certificate for its DNS name (and IPs), server auth only.
openssl ecparam -name prime256v1 -genkey -noout -out "$out/broker.key"
openssl req -new -key "$out/broker.key" -subj "/O=camwatch pilot/CN=${name}" -out "$out/broker.csr"
cat > "$out/broker.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyAgreement
extendedKeyUsage=serverAuth
subjectAltName=${san}
EXT
openssl x509 -req -in "$out/broker.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
    -days "$days_broker" -sha256 -extfile "$out/broker.ext" -out "$out/broker.crt"
rm -f "$out/broker.csr" "$out/broker.ext" "$out/ca.srl"
chmod 0644 "$out/ca.crt" "$out/broker.crt"
openssl verify -CAfile "$out/ca.crt" "$out/broker.crt"
echo "CA and broker certificate for ${name} (${san}) written to ${out}"
