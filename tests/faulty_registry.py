"""A chart repository that answers as private or broken servers do, on 127.0.0.1, for tests.

    python faulty_registry.py PORT MODE

MODE is one of:
  401, 403        every request is refused with that status (a private repository, no credentials);
  truncated-tags  an OCI registry whose tags/list reply is shorter than its Content-Length;
  bad-json-tags   an OCI registry whose tags/list reply is not JSON;
  bad-json-token  an OCI registry whose token endpoint answers with an HTML page.
"""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer

from loopback import QuietHandler, bearer_challenge


def serve(port: int, mode: str) -> None:
    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if mode in ("401", "403"):
                return self.reply(int(mode), b"denied")
            if mode == "bad-json-token":
                if self.path.startswith("/token"):
                    return self.reply(200, b"<html>sign in</html>")
                return self.reply(401, b"{}", {"WWW-Authenticate": bearer_challenge(port)})
            if not self.path.endswith("/tags/list"):
                return self.reply(200, b"{}")
            if mode == "truncated-tags":
                self.close_connection = True
                return self.reply(200, b'{"tags": ["0.1', length=200)
            return self.reply(200, b"tags: [0.1.0]")

        def do_HEAD(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(int(mode) if mode in ("401", "403") else 200)
            self.end_headers()

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2])
