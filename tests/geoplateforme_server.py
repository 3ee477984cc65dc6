"""A loopback server speaking the Géoplateforme geocoding protocol (GeoCodeJSON search/reverse, bulk CSV), with fault injection."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import socket
import threading
import time
import unicodedata
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

#: Faults a test can queue; each is consumed by one request.
FAULTS = ("429", "500", "503", "slow", "malformed", "truncated", "drop")


def _words(text: str) -> set[str]:
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    return set(re.sub(r"[^a-z0-9]+", " ", text).split())


class GeoplateformeServer:
    """Serve ``/geocodage/search``, ``/geocodage/reverse`` and ``/geocodage/search/csv`` on 127.0.0.1.

    Parameters
    ----------
    addresses : list of dict
        Known addresses: ``label``, ``lon``, ``lat``, ``type``, ``citycode``, ``postcode``, ``city``.
    latency : float
        Seconds added to every answer (to compare bulk and one-by-one requests).
    slow_seconds : float
        How long a "slow" fault waits (longer than the client's timeout).
    retry_after : int or str
        Value of the Retry-After header of a "429" fault: seconds, or an HTTP-date.
    """

    def __init__(self, addresses: list[dict] | None = None, *, latency: float = 0.0, slow_seconds: float = 2.0, retry_after: int | str = 1):
        self.addresses = list(addresses or [])
        self._index = [(_words(a["label"]), a) for a in self.addresses]
        self.latency = latency
        self.slow_seconds = slow_seconds
        self.retry_after = retry_after
        self.faults: list[str] = []
        self.log: list[str] = []
        self.rows_received = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/geocodage"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()

    def next_fault(self) -> str | None:
        with self._lock:
            return self.faults.pop(0) if self.faults else None

    # -- the address "index" -------------------------------------------------------------------
    def best(self, query: str, *, postcode: str = "", citycode: str = "") -> tuple[dict | None, float]:
        words = _words(query)
        best, score = None, 0.0
        for w, a in self._index:
            if postcode and a.get("postcode") != postcode:
                continue
            if citycode and a.get("citycode") != citycode:
                continue
            s = len(words & w) / max(len(words | w), 1)
            if s > score:
                best, score = a, s
        if best is None or score < 0.2:
            return None, 0.0
        return best, round(0.3 + 0.7 * score, 4)

    def nearest(self, lon: float, lat: float) -> dict | None:
        if not self.addresses:
            return None
        return min(self.addresses, key=lambda a: math.hypot(a["lon"] - lon, a["lat"] - lat))

    @staticmethod
    def feature(a: dict, score: float) -> dict:
        return {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [a["lon"], a["lat"]]},
            "properties": {
                "label": a["label"], "score": score, "type": a.get("type", "housenumber"), "citycode": a.get("citycode", ""),
                "postcode": a.get("postcode", ""), "city": a.get("city", ""), "id": a.get("id", ""), "name": a["label"].split(",")[0],
                "context": a.get("context", ""), "importance": 0.5, "x": 0, "y": 0,
            },
        }

    def _handler(server_self):  # noqa: N805 (closure over the server object)
        srv = server_self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # silence
                pass

            def _send(self, code: int, body: bytes, ctype: str, headers: dict | None = None):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _fault(self) -> bool:
                fault = srv.next_fault()
                srv.log.append(f"{self.command} {self.path.split('?')[0]} {fault or ''}".strip())
                if srv.latency:
                    time.sleep(srv.latency)
                if fault is None or fault in ("malformed", "truncated"):
                    self.fault = fault
                    return False
                if fault == "429":
                    self._send(429, b'{"code":429,"message":"Too many requests"}', "application/json", {"Retry-After": str(srv.retry_after)})
                elif fault in ("500", "503"):
                    self._send(int(fault), b"<html>Internal error</html>", "text/html")
                elif fault == "slow":
                    time.sleep(srv.slow_seconds)
                    self._send(200, b'{"type":"FeatureCollection","features":[]}', "application/json")
                elif fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                return True

            def do_GET(self):
                if self._fault():
                    return
                parts = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if self.fault == "malformed":
                    self._send(200, b'{"type": "FeatureCollection", "features": [', "application/json")
                    return
                if parts.path.endswith("/search"):
                    if not q.get("q"):
                        self._send(400, b'{"code":400,"message":"q is required"}', "application/json")
                        return
                    a, score = srv.best(q["q"], postcode=q.get("postcode", ""), citycode=q.get("citycode", ""))
                    features = [srv.feature(a, score)] if a else []
                elif parts.path.endswith("/reverse"):
                    a = srv.nearest(float(q["lon"]), float(q["lat"]))
                    features = [srv.feature(a, 1.0)] if a else []
                else:
                    self._send(404, b"not found", "text/plain")
                    return
                body = {"type": "FeatureCollection", "version": "draft", "features": features, "attribution": "loopback", "licence": "ETALAB-2.0", "query": q.get("q", ""), "limit": int(q.get("limit", 5))}
                self._send(200, json.dumps(body).encode(), "application/json; charset=utf-8")

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                if self._fault():
                    return
                if not urlsplit(self.path).path.endswith("/search/csv"):
                    self._send(404, b"not found", "text/plain")
                    return
                msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + raw)
                fields: dict[str, list[str]] = {}
                data = b""
                for part in msg.iter_parts():
                    name = part.get_param("name", header="content-disposition")
                    if name == "data":
                        data = part.get_payload(decode=True)
                    else:
                        fields.setdefault(name, []).append(part.get_content().strip())
                rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
                srv.rows_received += len(rows)
                if self.fault == "malformed":
                    self._send(200, b"<html><body>Bad gateway</body></html>", "text/csv")
                    return
                columns = fields.get("columns") or (list(rows[0].keys()) if rows else [])
                pc_col = (fields.get("postcode") or [""])[0]
                cc_col = (fields.get("citycode") or [""])[0]
                out_fields = (list(rows[0].keys()) if rows else []) + [
                    "latitude", "longitude", "result_label", "result_score", "result_score_next", "result_type", "result_id", "result_housenumber",
                    "result_name", "result_street", "result_postcode", "result_city", "result_context", "result_citycode", "result_oldcitycode",
                    "result_oldcity", "result_district", "result_status",
                ]
                buf = io.StringIO()
                w = csv.DictWriter(buf, fieldnames=out_fields, lineterminator="\r\n")
                w.writeheader()
                if self.fault == "truncated":
                    rows = rows[: len(rows) // 2]
                for r in rows:
                    query = " ".join(r.get(c, "") for c in columns)
                    a, score = srv.best(query, postcode=r.get(pc_col, "") if pc_col else "", citycode=r.get(cc_col, "") if cc_col else "")
                    res = dict(r)
                    if a:
                        res.update({"latitude": a["lat"], "longitude": a["lon"], "result_label": a["label"], "result_score": score, "result_type": a.get("type", "housenumber"),
                                    "result_citycode": a.get("citycode", ""), "result_postcode": a.get("postcode", ""), "result_city": a.get("city", ""), "result_status": "ok"})
                    else:
                        res.update({"result_status": "not-found"})
                    w.writerow(res)
                self._send(200, buf.getvalue().encode("utf-8"), "text/csv; charset=utf-8")

        return Handler


def closed_port_url() -> str:
    """URL of a port on 127.0.0.1 where nothing listens (connections are refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/geocodage"
