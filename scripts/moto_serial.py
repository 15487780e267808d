"""moto's server (DynamoDB and S3 APIs for the tests), one request at a time.

moto keeps its tables in Python objects without per-item locking: under concurrent
requests, ADDs lose increments and conditional transactions can all "win", which real
DynamoDB never allows. Serialising requests restores the atomicity the service relies on
(and that the concurrency tests check), while keeping HTTP keep-alive.

Usage: python3 scripts/moto_serial.py PORT
"""

import os
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

port = int(sys.argv[1])
os.environ.setdefault("MOTO_PORT", str(port))
app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def one_at_a_time(environ, start_response):
    with lock:
        # Drain the response inside the lock: the request is done when its body is.
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()


run_simple("127.0.0.1", port, one_at_a_time, threaded=True)
