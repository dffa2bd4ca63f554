#!/bin/sh
# Runs usocket's own RT test suite (Debian's cl-usocket, with Debian's
# cl-rt) against netlisp's usocket layer, in the network the suite
# expects, built hermetically in a network namespace made for this run:
#   - common-lisp.net resolves (from /etc/hosts only) to 127.0.0.2, where
#     a small HTTP server answers on port 80 and port 81 refuses;
#   - "xxx" is unknown (no DNS: nsswitch says files only);
#   - 1.2.3.4 is routed through a veth pair to a next hop nobody answers
#     for, so connecting there times out (or, after the ARP attempts,
#     fails as host unreachable: the suite accepts either);
#   - the suite runs as an unprivileged user, so binding port 81 fails.
# No traffic leaves the namespace. Needs root (to make the namespace).
# Usage: run-suite.sh NETLISP-BINARY
set -eu
netlisp=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
rt=/usr/share/common-lisp/source/rt/
suite=/usr/share/common-lisp/source/usocket/test/
[ -r "$rt/rt.lisp" ] && [ -r "$suite/test-usocket.lisp" ] || {
    echo "run-suite.sh: needs Debian's cl-rt and cl-usocket (.ci/install-peers)" >&2
    exit 2
}
ns="netlisp-usocket-$$"
work=$(mktemp -d)
chmod 755 "$work"
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    ip netns delete "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns" "$work"
}
trap cleanup EXIT INT TERM

mkdir -p "/etc/netns/$ns"
cat >"/etc/netns/$ns/hosts" <<HOSTS
127.0.0.1 localhost
::1 localhost ip6-localhost
127.0.0.2 common-lisp.net
HOSTS
echo "hosts: files" >"/etc/netns/$ns/nsswitch.conf"
: >"/etc/netns/$ns/resolv.conf"

ip netns add "$ns"
inns() { ip netns exec "$ns" "$@"; }
inns ip link set lo up
inns ip link add nowhere0 type veth peer name nowhere1
inns ip addr add 10.255.0.1/30 dev nowhere0
inns ip link set nowhere0 up
inns ip link set nowhere1 up
inns ip route add 1.2.3.4/32 via 10.255.0.2 dev nowhere0
inns sh -c 'echo 1024 > /proc/sys/net/ipv4/ip_unprivileged_port_start'

# The web server the suite knows as common-lisp.net.
echo "<html>netlisp test page</html>" >"$work/index.html"
inns python3 -m http.server 80 --bind 127.0.0.2 --directory "$work" >"$work/http.log" 2>&1 &
server=$!
i=0
until inns python3 -c 'import socket; socket.create_connection(("127.0.0.2", 80), 1).close()' 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -gt 50 ] && { echo "run-suite.sh: the HTTP server did not start" >&2; cat "$work/http.log" >&2; exit 2; }
    sleep 0.1
done

# The suite itself, as nobody, bounded in time.
inns timeout 300 setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$netlisp" "$here/run-suite.lisp" "$rt" "$suite"
