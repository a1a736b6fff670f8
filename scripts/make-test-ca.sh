#!/usr/bin/env bash
# A throw-away test CA for the certificate (mTLS) path (docs/mtls.md): the CA, one client certificate per subject,
# and a CRL revoking the subjects named with --revoke. For trying the path only: real clients get certificates from
# ACM Private CA or the team's CA. Needs openssl (1.1.1 or 3.x). Writes into OUT_DIR:
#   ca.pem ca.key            the CA (ca.pem is the --mtls-ca-bundle of deploy-all.sh)
#   client-N.pem client-N.key client-N.json   certificate, key, and the Secrets Manager JSON the client reads
#   crl.pem                  the CRL (--mtls-crl of deploy-all.sh)
# and prints, per client, the subject as the load balancer forwards it (RFC 2253), for --mtls-allowed-clients.
set -euo pipefail

readonly DAYS_CA=30
readonly DAYS_CLIENT=7

usage() {
  cat <<'EOF'
Usage: scripts/make-test-ca.sh [--revoke SUBJECT]... OUT_DIR SUBJECT [SUBJECT...]

SUBJECT is in openssl's form, e.g. '/O=Example/CN=orders'. Each gets a client certificate; those also named with
--revoke are listed in the CRL. OUT_DIR must not exist yet.
EOF
}

die() {
  printf 'ERROR: %s\n' "$1" >&2
  exit "${2:-1}"
}

# The CA database `openssl ca` needs for revoking and for the CRL.
write_ca_config() {
  local dir="$1"
  : >"${dir}/index.txt"
  printf '01\n' >"${dir}/crlnumber"
  cat >"${dir}/ca.cnf" <<EOF
[ ca ]
default_ca = test_ca
[ test_ca ]
database = ${dir}/index.txt
crlnumber = ${dir}/crlnumber
certificate = ${dir}/ca.pem
private_key = ${dir}/ca.key
default_md = sha256
default_crl_days = ${DAYS_CLIENT}
EOF
}

# PEM to a JSON string body: PEM holds only base64, '=', '-', spaces and newlines, so newlines are all to escape.
json_pem() {
  awk 'BEGIN { ORS = "" } { print $0 "\\n" }' "$1"
}

issue_client() {
  local dir="$1" number="$2" subject="$3" base
  base="${dir}/client-${number}"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "${base}.key" \
    -subj "$subject" -out "${base}.csr" 2>/dev/null
  # X.509 v3 with the client-authentication purpose, as a CA for TLS clients issues them.
  printf 'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' \
    >"${base}.ext"
  openssl x509 -req -in "${base}.csr" -CA "${dir}/ca.pem" -CAkey "${dir}/ca.key" -set_serial "$((1000 + number))" \
    -days "$DAYS_CLIENT" -sha256 -extfile "${base}.ext" -out "${base}.pem" 2>/dev/null
  rm -f "${base}.csr" "${base}.ext"
  chmod 600 "${base}.key"
  printf '{"certificate": "%s", "privateKey": "%s"}\n' "$(json_pem "${base}.pem")" "$(json_pem "${base}.key")" \
    >"${base}.json"
  chmod 600 "${base}.json"
}

main() {
  local revoked=() subjects=() out_dir="" number=0 subject rfc2253 state
  while [[ $# -gt 0 ]]; do
    case "$1" in
      -h | --help) usage; return 0 ;;
      --revoke) [[ $# -ge 2 ]] || die "option --revoke needs a value" 2; revoked+=("$2"); shift 2 ;;
      -*) die "unknown option: $1" 2 ;;
      *) if [[ -z "$out_dir" ]]; then out_dir="$1"; else subjects+=("$1"); fi; shift ;;
    esac
  done
  [[ -n "$out_dir" && ${#subjects[@]} -gt 0 ]] || { usage >&2; die "expected OUT_DIR and at least one SUBJECT" 2; }
  [[ ! -e "$out_dir" ]] || die "${out_dir} exists; pick a new directory" 2
  command -v openssl >/dev/null 2>&1 || die "openssl not found"
  mkdir -p "$out_dir"
  out_dir="$(cd "$out_dir" && pwd)"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "${out_dir}/ca.key" \
    -subj "/O=Test/CN=Test client CA" -days "$DAYS_CA" -sha256 -out "${out_dir}/ca.pem" \
    -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  chmod 600 "${out_dir}/ca.key"
  write_ca_config "$out_dir"
  for subject in "${subjects[@]}"; do
    number=$((number + 1))
    issue_client "$out_dir" "$number" "$subject"
    state="valid"
    if [[ ${#revoked[@]} -gt 0 ]] && printf '%s\n' "${revoked[@]}" | grep -Fqx -- "$subject"; then
      openssl ca -config "${out_dir}/ca.cnf" -revoke "${out_dir}/client-${number}.pem" 2>/dev/null
      state="revoked"
    fi
    rfc2253="$(openssl x509 -in "${out_dir}/client-${number}.pem" -noout -subject -nameopt RFC2253)"
    printf 'client-%s (%s): %s\n' "$number" "$state" "${rfc2253#subject=}"
  done
  openssl ca -config "${out_dir}/ca.cnf" -gencrl -out "${out_dir}/crl.pem" 2>/dev/null
  printf 'CA bundle: %s\nCRL: %s\n' "${out_dir}/ca.pem" "${out_dir}/crl.pem"
}

main "$@"
