"""Loopback HTTP server for test_pull: serves files from a directory with
Range support, logs each request's path and Range header, and behaves per
path prefix:
  /norange/FILE   ignores Range (always 200 with the whole file)
  /hub/ORG/NAME/resolve/REV/FILE   as a hub: 302 to /files/FILE with
                  X-Linked-Etag "<sha256 of DIR/FILE.sha256's content or of the file>"
                  and X-Linked-Size
  /files/FILE, /FILE   plain file with Range
usage: pull_server.py DIR PORTFILE LOGFILE  (binds 127.0.0.1 on a free port,
writes the port to PORTFILE once listening)."""
import hashlib
import http.server
import os
import sys


def main():
    root, portfile, logfile = sys.argv[1:4]
    log = open(logfile, "a", buffering=1)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send_file(self, name, honour_range):
            path = os.path.join(root, os.path.basename(name))
            if not os.path.isfile(path):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = open(path, "rb").read()
            rng = self.headers.get("Range") if honour_range else None
            if rng and rng.startswith("bytes=") and rng.endswith("-"):
                start = int(rng[6:-1])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", "bytes */%d" % len(data))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
                data = data[start:]
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            log.write("GET %s range=%s\n" % (self.path, self.headers.get("Range")))
            p = self.path.split("?", 1)[0]
            if p.startswith("/norange/"):
                self.send_file(p[len("/norange/"):], False)
            elif p.startswith("/hub/"):
                name = p.rsplit("/", 1)[1]
                path = os.path.join(root, name)
                if not os.path.isfile(path):
                    return self.send_file(name, True)
                claimed = path + ".sha256"  # a hub listing that disagrees with the file
                if os.path.isfile(claimed):
                    sha = open(claimed).read().strip()
                else:
                    sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
                self.send_response(302)
                self.send_header("Location", "/files/" + name)
                self.send_header("X-Linked-Etag", '"%s"' % sha)
                self.send_header("X-Linked-Size", str(os.path.getsize(path)))
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif p.startswith("/files/"):
                self.send_file(p[len("/files/"):], True)
            else:
                self.send_file(p[1:], True)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()


if __name__ == "__main__":
    main()
