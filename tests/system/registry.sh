#!/usr/bin/env bash
# System test: repositories anywhere (SPEC section 14, issue 14), against real servers on
# loopback: Debian's docker-registry (distribution 2.8) and nginx.
#   - publish a signed repository to a registry, install from it, publish again (blobs skipped);
#   - htpasswd (bcrypt) basic auth: credentials from the URL and the Docker config.json;
#     wrong ones are a 401 named with their source; the password is never printed;
#   - token auth: anonymous pull through a token service (nginx serving a token signed
#     with a key pair made here by openssl), a token that does not cover a repository;
#   - a second registry in proxy mode as a pull-through mirror: a second host behind it
#     makes no blob request to the upstream;
#   - a blob tampered in the registry's storage, a manifest that is not an alp repository;
#   - nginx auth_basic: netrc ($NETRC and etc/alp/netrc), credentials in the URL, a bearer
#     token from ALP_TOKEN_<HOST>; a redirect to another port carries no Authorization.
#
#   bash tests/system/registry.sh     (from the repo root, as root; ALP_BIN=… for another binary)

set -u -o pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$REPO/tests/system/lib.sh"

static_alp "$REPO"
need docker-registry docker-registry
need htpasswd apache2-utils
need openssl openssl
need curl curl

T=$(mktemp -d /tmp/alp-registry.XXXXXX)
PIDS=()
N2_PID=''
cleanup() {
    local p
    stop_nginx
    [ -n "$N2_PID" ] && kill "$N2_PID" 2>/dev/null
    for p in "${PIDS[@]}"; do stop_registry "$p"; done
    [ -n "${ALP_REGISTRY_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
export ALP_RETRIES=0 ALP_TIMEOUT=5
unset DOCKER_CONFIG NETRC
export HOME=$T/home
mkdir -p "$HOME"

# A signed repository: hello (a script) and data (1 MiB of random bytes).
SRC=$T/src
mkdir -p "$SRC/hello/usr/bin" "$SRC/hello/.ALP" "$SRC/data/usr/share/data" "$SRC/data/.ALP" "$T/repo"
printf '#!/bin/sh\necho hello from the registry\n' >"$SRC/hello/usr/bin/hello"
chmod 755 "$SRC/hello/usr/bin/hello"
echo '{"name":"hello","version":"1.0","description":"says hello","depends":["data"]}' >"$SRC/hello/.ALP/package.json"
echo '{"name":"data","version":"1.0","description":"random bytes"}' >"$SRC/data/.ALP/package.json"
head -c 1048576 /dev/urandom >"$SRC/data/usr/share/data/blob"
"$BIN" --quiet build "$SRC/hello" -o "$T/repo" >/dev/null || die "alp build failed"
"$BIN" --quiet build "$SRC/data" -o "$T/repo" >/dev/null || die "alp build failed"
"$BIN" --quiet index "$T/repo" --sign "$REPO/examples/keys/example.key" >/dev/null || die "alp index failed"

mkdir -p "$T/roots"
# fresh: a new root trusting the example key, with its own cache; prints its path.
fresh() {
    local r
    r=$(mktemp -d "$T/roots/r.XXXXXX")
    mkdir -p "$r/etc/alp/keys"
    cp "$REPO/examples/keys/example.pub" "$r/etc/alp/keys/"
    echo "$r"
}
# alp_in ROOT ARGS...: alp on ROOT with a cache of its own; output in $T/out, status returned.
alp_in() {
    local r=$1
    shift
    ALP_CACHE_DIR=$r/cache "$BIN" --root "$r" "$@" >"$T/out" 2>&1
}
installed() { [ "$("$1/usr/bin/hello" 2>/dev/null)" = "hello from the registry" ] && cmp -s "$SRC/data/usr/share/data/blob" "$1/usr/share/data/blob"; }
says() { grep -q -- "$1" "$T/out"; }
one_error() { [ "$(grep -c '^alp: error: ' "$T/out")" = 1 ] && ! grep -q panicked "$T/out"; }

# --- an open registry: publish, install, publish again -------------------------------
start_registry "$T/open"
PIDS+=("$REG_PID")
OPEN=oci+http://127.0.0.1:$REG_PORT/alp/main
if alp_in "$(fresh)" publish "$T/repo" "$OPEN" && says '4 blobs pushed'; then
    pass "publish pushes every blob, then the manifest"
else
    fail "publish pushes every blob, then the manifest" "$(cat "$T/out")"
fi
if alp_in "$(fresh)" publish "$T/repo" "$OPEN" && says '0 blobs pushed, 4 already there'; then
    pass "publishing again skips the blobs the registry has"
else
    fail "publishing again skips the blobs the registry has" "$(cat "$T/out")"
fi
R=$(fresh)
if alp_in "$R" --repo "$OPEN" install hello && installed "$R"; then
    pass "install from an OCI registry"
else
    fail "install from an OCI registry" "$(cat "$T/out")"
fi
if alp_in "$R" --repo "$OPEN" --json installed && grep -q "oci+http://127.0.0.1:$REG_PORT/alp/main:latest" "$T/out"; then
    pass "the database records the OCI repository"
else
    fail "the database records the OCI repository" "$(cat "$T/out")"
fi

# A manifest that is not an alp repository (an image manifest under another tag).
EMPTY=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a
curl -s -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"$EMPTY\",\"size\":2},\"layers\":[]}" \
    "http://127.0.0.1:$REG_PORT/v2/alp/main/manifests/image"
if ! alp_in "$(fresh)" --repo "$OPEN:image" list && one_error && says 'not an alp repository'; then
    pass "a manifest that is not an alp repository is refused"
else
    fail "a manifest that is not an alp repository is refused" "$(cat "$T/out")"
fi

# --- the same registry behind a pull-through mirror ------------------------------------
UPSTREAM_LOG=$T/open/log
UP_PORT=$REG_PORT
start_registry "$T/mirror" "proxy:
  remoteurl: http://127.0.0.1:$UP_PORT"
PIDS+=("$REG_PID")
MIRROR=oci+http://127.0.0.1:$REG_PORT/alp/main
before=$(registry_blob_gets "$UPSTREAM_LOG" alp/main)
R=$(fresh)
alp_in "$R" --repo "$MIRROR" install hello && installed "$R" && first=ok || first=$(cat "$T/out")
mid=$(registry_blob_gets "$UPSTREAM_LOG" alp/main)
R=$(fresh)
alp_in "$R" --repo "$MIRROR" install hello && installed "$R" && second=ok || second=$(cat "$T/out")
after=$(registry_blob_gets "$UPSTREAM_LOG" alp/main)
if [ "$first" = ok ] && [ "$second" = ok ] && [ "$after" = "$mid" ]; then
    pass "a second host behind the mirror makes no blob request upstream (first host: $((mid - before)), second: $((after - mid)))"
else
    fail "a second host behind the mirror makes no blob request upstream" "first=$first second=$second upstream blob GETs $before/$mid/$after"
fi

# --- a blob tampered in the registry's storage ------------------------------------------
data_sha=$(sha256sum "$T/repo"/data-1.0.tar.* | cut -c1-64)
blob=$T/open/data/docker/registry/v2/blobs/sha256/${data_sha:0:2}/$data_sha/data
if [ -f "$blob" ]; then
    cp "$blob" "$T/blob.orig"
    python3 - "$blob" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 2] ^= 0xff
open(p, 'wb').write(b)
PY
    R=$(fresh)
    alp_in "$R" --repo "$OPEN" install hello
    code=$?
    if [ "$code" = 5 ] && one_error && [ ! -e "$R/usr/bin/hello" ]; then
        pass "a tampered package blob is refused (exit 5), nothing installed"
    else
        fail "a tampered package blob is refused (exit 5), nothing installed" "exit $code: $(cat "$T/out")"
    fi
    cp "$T/blob.orig" "$blob"
else
    fail "a tampered package blob is refused" "no blob at $blob"
fi
idx_sha=$(sha256sum "$T/repo/index.json" | cut -c1-64)
blob=$T/open/data/docker/registry/v2/blobs/sha256/${idx_sha:0:2}/$idx_sha/data
cp "$blob" "$T/blob.orig"
sed -i 's/says hello/says HELLO/' "$blob"
if ! alp_in "$(fresh)" --repo "$OPEN" list && one_error && says 'do not match its digest'; then
    pass "a tampered index blob is refused: its bytes do not match its digest"
else
    fail "a tampered index blob is refused" "$(cat "$T/out")"
fi
cp "$T/blob.orig" "$blob"

# --- htpasswd (bcrypt) basic auth -------------------------------------------------------
htpasswd -Bbn alice 'pa55-word' >"$T/htpasswd"
start_registry "$T/basic" "auth:
  htpasswd:
    realm: alp-test
    path: $T/htpasswd"
PIDS+=("$REG_PID")
BASIC=127.0.0.1:$REG_PORT
if alp_in "$(fresh)" publish "$T/repo" "oci+http://alice:pa55-word@$BASIC/alp/main" && ! says 'pa55-word'; then
    pass "publish with credentials in the URL (htpasswd registry)"
else
    fail "publish with credentials in the URL (htpasswd registry)" "$(cat "$T/out")"
fi
if ! alp_in "$(fresh)" --repo "oci+http://$BASIC/alp/main" list && one_error && says '401'; then
    pass "no credentials: a 401 named as such"
else
    fail "no credentials: a 401 named as such" "$(cat "$T/out")"
fi
mkdir -p "$T/docker-good" "$T/docker-bad"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$BASIC" "$(printf 'alice:pa55-word' | base64)" >"$T/docker-good/config.json"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$BASIC" "$(printf 'alice:wrong' | base64)" >"$T/docker-bad/config.json"
R=$(fresh)
if DOCKER_CONFIG=$T/docker-good alp_in "$R" --repo "oci+http://$BASIC/alp/main" install hello && installed "$R"; then
    pass "install with credentials from the Docker config.json"
else
    fail "install with credentials from the Docker config.json" "$(cat "$T/out")"
fi
if ! DOCKER_CONFIG=$T/docker-bad alp_in "$(fresh)" --repo "oci+http://$BASIC/alp/main" --json list &&
    one_error && says '401' && says "Docker config $T/docker-bad/config.json" && ! says wrong; then
    pass "wrong credentials: 401, naming the Docker config they came from"
else
    fail "wrong credentials: 401, naming the Docker config they came from" "$(cat "$T/out")"
fi

# Docker credential helpers (`credHelpers`, `credsStore`), as docker-credential-pass or
# -ecr-login answer: a stand-in on PATH that knows this registry's password and logs each ask.
mkdir -p "$T/helpers" "$T/docker-helper" "$T/docker-store" "$T/docker-helper-bad"
cat >"$T/helpers/docker-credential-alptest" <<HELPER
#!/bin/sh
[ "\$1" = get ] || exit 1
read -r server
echo "\$server" >>"$T/helpers/asked"
case "\$server" in
    $BASIC) printf '{"ServerURL":"%s","Username":"alice","Secret":"%s"}\n' "\$server" "\${ALPTEST_SECRET:-pa55-word}" ;;
    *) echo "credentials not found in native keychain"; exit 1 ;;
esac
HELPER
chmod +x "$T/helpers/docker-credential-alptest"
# The helper named for the registry wins over inline credentials, as in the Docker client.
printf '{"credHelpers":{"%s":"alptest"},"auths":{"%s":{"auth":"%s"}}}\n' "$BASIC" "$BASIC" \
    "$(printf 'alice:wrong' | base64)" >"$T/docker-helper/config.json"
printf '{"credsStore":"alptest"}\n' >"$T/docker-store/config.json"
for kind in helper store; do
    R=$(fresh)
    : >"$T/helpers/asked"
    if PATH=$T/helpers:$PATH DOCKER_CONFIG=$T/docker-$kind alp_in "$R" --repo "oci+http://$BASIC/alp/main" install hello &&
        installed "$R" && [ "$(wc -l <"$T/helpers/asked")" = 1 ] && ! says pa55-word; then
        pass "install with credentials from a Docker credential helper ($kind; asked once)"
    else
        fail "credential helper ($kind)" "asked $(wc -l <"$T/helpers/asked") times: $(cat "$T/out")"
    fi
done
if ! ALPTEST_SECRET=nope PATH=$T/helpers:$PATH DOCKER_CONFIG=$T/docker-helper alp_in "$(fresh)" \
    --repo "oci+http://$BASIC/alp/main" --json list && one_error && says '401' &&
    says 'Docker credential helper docker-credential-alptest' && ! says nope; then
    pass "wrong credentials from a helper: 401, naming the helper"
else
    fail "wrong credentials from a helper: 401, naming the helper" "$(cat "$T/out")"
fi

# --- token auth: anonymous pull through a token service --------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/token.key" -out "$T/token.crt" -days 2 \
    -subj /CN=alp-test-token >/dev/null 2>&1 || die "openssl req failed"
mkdir -p "$T/token-www"
python3 - "$T/token.key" >"$T/token-www/token" <<'PY' || die "making the token failed"
import base64, hashlib, json, subprocess, sys, time
key = sys.argv[1]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b'=').decode()
der = subprocess.check_output(['openssl', 'pkey', '-in', key, '-pubout', '-outform', 'DER'])
# The registry finds the key by libtrust's key id: base32 of the first 30 bytes of the
# SHA-256 of the public key's DER, in groups of four.
kid = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip('=')
kid = ':'.join(kid[i:i + 4] for i in range(0, len(kid), 4))
now = int(time.time())
head = {'typ': 'JWT', 'alg': 'RS256', 'kid': kid}
claims = {'iss': 'alp-test-issuer', 'sub': '', 'aud': 'alp-test', 'exp': now + 3600, 'nbf': now - 60,
          'iat': now, 'jti': 'alp-test', 'access': [{'type': 'repository', 'name': 'alp/main', 'actions': ['pull', 'push']}]}
signing = b64(json.dumps(head).encode()) + '.' + b64(json.dumps(claims).encode())
sig = subprocess.run(['openssl', 'dgst', '-sha256', '-sign', key], input=signing.encode(), capture_output=True, check=True).stdout
print(json.dumps({'token': signing + '.' + b64(sig)}))
PY
NGINX_EXTRA='location = /token { default_type application/json; }' start_nginx "$T/token-www" "$T/token-nginx"
TOKEN_LOG=$NGINX_LOG
start_registry "$T/token" "auth:
  token:
    realm: $NGINX_URL/token
    service: alp-test
    issuer: alp-test-issuer
    rootcertbundle: $T/token.crt"
PIDS+=("$REG_PID")
TOKREG=oci+http://127.0.0.1:$REG_PORT
if alp_in "$(fresh)" publish "$T/repo" "$TOKREG/alp/main"; then
    pass "publish through the token flow"
else
    fail "publish through the token flow" "$(cat "$T/out")"
fi
: >"$TOKEN_LOG"
R=$(fresh)
if alp_in "$R" --repo "$TOKREG/alp/main" install hello && installed "$R" && [ "$(grep -c 'GET /token' "$TOKEN_LOG")" = 1 ]; then
    pass "anonymous pull through the token service (one token for the run)"
else
    fail "anonymous pull through the token service (one token for the run)" "token requests: $(grep -c 'GET /token' "$TOKEN_LOG"); $(cat "$T/out")"
fi
if ! alp_in "$(fresh)" --repo "$TOKREG/alp/other" list && one_error && says 'refused the token'; then
    pass "a registry that refuses the token: one clear error"
else
    fail "a registry that refuses the token: one clear error" "$(cat "$T/out")"
fi
stop_nginx

# --- nginx auth_basic: netrc, URL credentials, bearer tokens, redirects ----------------
htpasswd -Bbn carol 'n3trc-pass' >"$T/nginx.htpasswd"
# The second server: logs the Authorization header it receives, and wants a bearer token
# under /bearer/.
NGINX_EXTRA="location /bearer/ { if (\$http_authorization != \"Bearer t0ken-xyz\") { return 401; } alias $T/repo/; }" \
    start_nginx "$T/repo" "$T/n2"
N2_PID=$NGINX_PID N2_PORT=$NGINX_PORT N2_WORK=$T/n2
sed -i "s|access_log [^;]*;|log_format hdr '\$request auth=\$http_authorization'; access_log $T/n2/headers.log hdr;|" "$N2_WORK/nginx.conf"
kill -HUP "$N2_PID"
sleep 0.5
NGINX_PID=''
NGINX_EXTRA="auth_basic alp; auth_basic_user_file $T/nginx.htpasswd; location = /moved/index.json { return 302 http://127.0.0.1:$N2_PORT/index.json; }" \
    start_nginx "$T/repo" "$T/n1"
PRIV=127.0.0.1:$NGINX_PORT
if ! alp_in "$(fresh)" --repo "http://$PRIV" list && one_error && says '401' && says 'none were found'; then
    pass "a private repository without credentials: 401, saying none were found"
else
    fail "a private repository without credentials: 401, saying none were found" "$(cat "$T/out")"
fi
R=$(fresh)
if alp_in "$R" --repo "http://carol:n3trc-pass@$PRIV" --json install hello && installed "$R" && ! says n3trc-pass &&
    ! grep -rq n3trc-pass "$R/var"; then
    pass "credentials in the URL; the password is in no output, log or record"
else
    fail "credentials in the URL; the password is in no output, log or record" "$(cat "$T/out")"
fi
printf 'machine 127.0.0.1\n  login carol\n  password n3trc-pass\n' >"$T/netrc"
R=$(fresh)
if NETRC=$T/netrc alp_in "$R" --repo "http://$PRIV" install hello && installed "$R"; then
    pass "credentials from \$NETRC"
else
    fail "credentials from \$NETRC" "$(cat "$T/out")"
fi
R=$(fresh)
cp "$T/netrc" "$R/etc/alp/netrc"
if alp_in "$R" --repo "http://$PRIV" install hello && installed "$R"; then
    pass "credentials from etc/alp/netrc under the root"
else
    fail "credentials from etc/alp/netrc under the root" "$(cat "$T/out")"
fi
printf 'machine 127.0.0.1 login carol password nope\n' >"$T/netrc-bad"
if ! NETRC=$T/netrc-bad alp_in "$(fresh)" --repo "http://$PRIV" list && one_error && says "netrc $T/netrc-bad"; then
    pass "wrong netrc credentials: 401 naming the netrc file"
else
    fail "wrong netrc credentials: 401 naming the netrc file" "$(cat "$T/out")"
fi
R=$(fresh)
if env "ALP_TOKEN_127_0_0_1_$N2_PORT=t0ken-xyz" ALP_CACHE_DIR="$R/cache" "$BIN" --root "$R" \
    --repo "http://127.0.0.1:$N2_PORT/bearer" install hello >"$T/out" 2>&1 && installed "$R"; then
    pass "a bearer token from ALP_TOKEN_<HOST>"
else
    fail "a bearer token from ALP_TOKEN_<HOST>" "$(cat "$T/out")"
fi
: >"$T/n2/headers.log"
alp_in "$(fresh)" --repo "http://carol:n3trc-pass@$PRIV/moved" list
if grep -q 'GET /index.json' "$T/n2/headers.log" && ! grep -q 'auth=Basic' "$T/n2/headers.log"; then
    pass "a redirect to another port carries no Authorization"
else
    fail "a redirect to another port carries no Authorization" "$(cat "$T/n2/headers.log")"
fi

finish
