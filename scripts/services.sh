# Test services, sourced by scripts/test.sh (and handy by hand: `source scripts/services.sh;
# services_start`). Redis comes from Debian's redis-server, DynamoDB and S3 from moto's
# server; each is started on a free loopback port under a temporary folder and exported as
# the ROOST_TEST_* variables that the distributed test suites read.

services_install() {
    if ! command -v redis-server >/dev/null; then
        echo "installing redis-server (Debian package)" >&2
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    fi
    if ! command -v moto_server >/dev/null; then
        echo "installing moto[server] (PyPI)" >&2
        python3 -m pip install -q "moto[server]" >/dev/null
    fi
    if ! command -v schemathesis >/dev/null; then
        echo "installing schemathesis (PyPI; tests/fuzz.rs)" >&2
        python3 -m pip install -q "schemathesis>=4,<5" >/dev/null
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() { # port, name
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "$2 did not start on port $1" >&2
    return 1
}

services_start() {
    ROOST_SERVICES_DIR=$(mktemp -d)
    local redis_port moto_port
    redis_port=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly yes \
        --dir "$ROOST_SERVICES_DIR" --daemonize no >"$ROOST_SERVICES_DIR/redis.log" 2>&1 &
    echo $! >"$ROOST_SERVICES_DIR/redis.pid"
    moto_port=$(free_port)
    python3 "$(dirname "${BASH_SOURCE[0]}")/moto_serial.py" "$moto_port" >"$ROOST_SERVICES_DIR/moto.log" 2>&1 &
    echo $! >"$ROOST_SERVICES_DIR/moto.pid"
    wait_port "$redis_port" redis-server
    wait_port "$moto_port" moto_server
    export ROOST_SERVICES_DIR
    export ROOST_TEST_REDIS_URL="redis://127.0.0.1:$redis_port"
    export ROOST_TEST_AWS_ENDPOINT="http://127.0.0.1:$moto_port"
    # moto accepts any credentials; the SDKs still want some to sign with.
    export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
    echo "test services: redis $ROOST_TEST_REDIS_URL, moto $ROOST_TEST_AWS_ENDPOINT" >&2
}

services_stop() {
    [ -n "${ROOST_SERVICES_DIR:-}" ] || return 0
    for name in redis moto; do
        if [ -f "$ROOST_SERVICES_DIR/$name.pid" ]; then
            kill "$(cat "$ROOST_SERVICES_DIR/$name.pid")" 2>/dev/null || true
        fi
    done
    wait 2>/dev/null || true
    rm -rf "$ROOST_SERVICES_DIR"
}
