"""A tiny HTTP service for Cloudlet: answers on $PORT, reports which instance served the request."""
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INSTANCE = os.environ.get("CLOUDLET_INSTANCE", "local")
GREETING = os.environ.get("GREETING", "Hello")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep connections alive behind the gateway

    def do_GET(self):
        if self.path.endswith("/healthz"):
            return self.reply(200, "text/plain", b"ok\n")
        body = {
            "message": f"{GREETING}!",
            "instance": INSTANCE,
            "path": self.path,
            "request_id": self.headers.get("X-Request-Id"),
            "forwarded_for": self.headers.get("X-Forwarded-For"),
        }
        self.reply(200, "application/json", (json.dumps(body) + "\n").encode())

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length)
        self.reply(200, "application/octet-stream", data)

    def reply(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        if "/healthz" in self.path:
            return
        sys.stdout.write(f"{self.address_string()} {format % args}\n")
        sys.stdout.flush()


def main():
    ThreadingHTTPServer.daemon_threads = False  # server_close() waits for requests in flight
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8000"))), Handler)
    # SIGTERM: stop accepting, finish what is in flight, exit 0.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"{INSTANCE} listening on port {server.server_address[1]}", flush=True)
    server.serve_forever()
    server.server_close()
    print(f"{INSTANCE} stopped", flush=True)


if __name__ == "__main__":
    main()
