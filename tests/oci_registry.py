"""A minimal OCI registry for tests: serves Helm chart archives of a directory over plain HTTP on 127.0.0.1.

    python oci_registry.py PORT DIR REPOSITORY

`DIR/<chart>-<version>.tgz` becomes `REPOSITORY/<chart>:<version>` (one Helm chart layer). As public
registries do, every request needs a bearer token, given anonymously by /token (named in the
WWW-Authenticate challenge of a 401).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from http.server import ThreadingHTTPServer
from pathlib import Path

from loopback import QuietHandler, bearer_challenge

TOKEN = "anonymous-pull-token"
LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"


def serve(port: int, directory: Path, repository: str) -> None:
    blobs: dict[str, bytes] = {}
    charts: dict[str, dict[str, bytes]] = {}
    for archive in sorted(directory.glob("*.tgz")):
        chart, version = re.match(r"^(.+?)-(\d.*)\.tgz$", archive.name).groups()
        data = archive.read_bytes()
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        config = b"{}"
        blobs["sha256:" + hashlib.sha256(config).hexdigest()] = config
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json",
                               "digest": "sha256:" + hashlib.sha256(config).hexdigest(), "size": len(config)},
                    "layers": [{"mediaType": LAYER, "digest": digest, "size": len(data)}]}
        charts.setdefault(f"{repository}/{chart}", {})[version] = json.dumps(manifest).encode()

    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path.startswith("/token"):
                return self.reply(200, json.dumps({"token": TOKEN}).encode())
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self.reply(401, b"{}", {"WWW-Authenticate": bearer_challenge(port)})
            match = re.match(r"^/v2/(.+)/(tags/list|manifests/[^/]+|blobs/[^/]+)$", self.path)
            if self.path == "/v2/":
                return self.reply(200, b"{}")
            if not match or match.group(1) not in charts:
                return self.reply(404, b"{}")
            name, what = match.groups()
            if what == "tags/list":
                return self.reply(200, json.dumps({"name": name, "tags": sorted(charts[name])}).encode())
            kind, _, ref = what.partition("/")
            body = charts[name].get(ref) if kind == "manifests" else blobs.get(ref)
            return self.reply(200, body) if body is not None else self.reply(404, b"{}")

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
