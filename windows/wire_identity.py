#!/usr/bin/env python3
"""TEST-ONLY: a plain-HTTP forwarding proxy in front of the sandbox that records which
machine_no and spbill_create_ip the SDK puts in each request (the sandbox does not keep
them), so scripts/legs/windows.sh can check what the DLL sends from a Windows machine.

Usage: wire_identity.py SANDBOX_HTTP_URL RECORD_FILE
Prints PROXY=http://127.0.0.1:PORT once listening; appends "machine_no ip" lines to
RECORD_FILE; runs until killed."""
import http.server
import re
import sys
import urllib.error
import urllib.request
from urllib.parse import urlsplit

UPSTREAM = "{0.scheme}://{0.netloc}".format(urlsplit(sys.argv[1]))
RECORD = sys.argv[2]
# Tolerates the inner JSON being a string inside the outer one (escaped quotes).
FIELD = r'{}\\?"\s*:\s*\\?"([^"\\]*)'


class Proxy(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        text = body.decode("utf-8", "replace")
        mac = re.search(FIELD.format("machine_no"), text)
        ip = re.search(FIELD.format("spbill_create_ip"), text)
        if mac or ip:
            with open(RECORD, "a") as f:
                f.write("{} {}\n".format(mac.group(1) if mac else "-", ip.group(1) if ip else "-"))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        req = urllib.request.Request(UPSTREAM + self.path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, reply, ctype = r.status, r.read(), r.headers.get("Content-Type", "application/json")
        except urllib.error.HTTPError as e:
            status, reply, ctype = e.code, e.read(), e.headers.get("Content-Type", "application/json")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
print("PROXY=http://127.0.0.1:{}".format(server.server_address[1]), flush=True)
server.serve_forever()
