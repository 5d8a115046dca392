"""The protected service of the gateway test: answers every request with the headers it received.

Usage: echo_service.py PORT SEEN_FILE. Each request adds its path to SEEN_FILE, so the test can
tell whether a request got past the gateway at all. The headers go only into the response body.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive with nginx's upstream connections

    def do_GET(self):
        with open(self.server.seen_file, "a") as seen:
            seen.write(json.dumps({"path": self.path}) + "\n")
        body = json.dumps({name.lower(): value for name, value in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET  # gateway.conf's example requires another scope to change orders

    def log_message(self, format, *args):
        pass  # the test reads SEEN_FILE; a request line could carry a credential in its query


def main(port, seen_file):
    server = ThreadingHTTPServer(("127.0.0.1", int(port)), Echo)
    server.seen_file = seen_file
    server.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:3])
