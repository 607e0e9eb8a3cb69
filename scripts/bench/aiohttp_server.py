#!/usr/bin/env python3
# Baseline for the server benchmarks: the SDP offer/answer of server.ts (RFC 3264 §6, RFC 8866) ported
# to a short Python aiohttp server, as the original gateway was. POST /offer parses the offer, picks
# the formats the stream carries and writes the answer; errors are problem+json (RFC 9457).
# Run: python3 scripts/bench/aiohttp_server.py --port 8082   (needs python3-aiohttp; 127.0.0.1 only)
import argparse
import json
import re
import time

from aiohttp import web

MAX_SDP_BYTES = 64 * 1024
MAX_MEDIA_SECTIONS = 64
STATIC_FORMATS = {  # RFC 3551 §6
    0: ("PCMU", 8000, 1), 3: ("GSM", 8000, 1), 8: ("PCMA", 8000, 1), 9: ("G722", 8000, 1),
    10: ("L16", 44100, 2), 11: ("L16", 44100, 1), 14: ("MPA", 90000, None),
    26: ("JPEG", 90000, None), 31: ("H261", 90000, None), 32: ("MPV", 90000, None),
    33: ("MP2T", 90000, None), 34: ("H263", 90000, None),
}
M_LINE = re.compile(r"^m=[\w.-]+ [0-9]{1,5}(/[0-9]{1,5})? [\w/.-]+( [\w.*/-]+)*\s*$")
RTPMAP = re.compile(r"^a=rtpmap:([0-9]{1,3}) ([^/\s]+)/([0-9]+)(?:/([0-9]+))?")
RTP_PROTOCOL = re.compile(r"^(UDP/)?(TLS/)?RTP/S?AVPF?$", re.I)
DIRECTIONS = ("sendrecv", "recvonly", "sendonly", "inactive")


class Problem(Exception):
    def __init__(self, status, title, detail):
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


def parse_sdp(text):
    """Validates an SDP offer like parseSdp() and returns its media sections."""
    if len(text) > MAX_SDP_BYTES:
        raise Problem(400, "Bad Request", "SDP description is too large")
    lines = [line for line in re.split(r"\r?\n", text) if line.strip()]
    if not lines or lines[0].strip() != "v=0":
        raise Problem(400, "Bad Request", 'Not an SDP description: the first line must be "v=0"')
    if len(lines) < 2 or not lines[1].startswith("o="):
        raise Problem(400, "Bad Request", 'Not an SDP description: the second line must be "o=..."')
    session_direction = "sendrecv"
    media = []
    for number, line in enumerate(lines, 1):
        if not re.match(r"^[a-z]=", line):
            raise Problem(400, "Bad Request", f"Malformed SDP line {number}")
        if line.startswith("m="):
            if not M_LINE.match(line):
                raise Problem(400, "Bad Request", f"Malformed m= line {number}")
            kind, port, protocol, *tokens = line[2:].split()
            media.append({"type": kind, "port": int(port.split("/")[0]), "protocol": protocol,
                          "tokens": tokens, "rtpmap": {}, "direction": None})
            if len(media) > MAX_MEDIA_SECTIONS:
                raise Problem(400, "Bad Request", "Too many m= lines")
        elif line.startswith("a="):
            value = line[2:].strip()
            match = RTPMAP.match(line)
            if match and media:
                channels = int(match.group(4)) if match.group(4) else None
                media[-1]["rtpmap"][int(match.group(1))] = (match.group(2), int(match.group(3)),
                                                            channels)
            elif value in DIRECTIONS:
                if media:
                    media[-1]["direction"] = value
                else:
                    session_direction = value
    if not media:
        raise Problem(400, "Bad Request", "SDP description has no media (m=) line")
    for section in media:
        section["direction"] = section["direction"] or session_direction
        formats = []
        for token in section["tokens"]:
            if re.fullmatch(r"[0-9]{1,3}", token) and int(token) <= 127:
                pt = int(token)
                formats.append((pt, section["rtpmap"].get(pt) or STATIC_FORMATS.get(pt)))
        section["formats"] = formats
    return media


def same_encoding(a, b):
    return a[0].upper() == b[0].upper() and a[1] == b[1] and (a[2] or 1) == (b[2] or 1)


class Stream:
    def __init__(self, name, address, port, ttl, formats):
        self.name, self.address, self.port, self.ttl, self.formats = name, address, port, ttl, formats
        self.session_id = "2470140894"
        self.version = int(time.time())


def answer_offer(text, stream):
    """Answers an offer like answerOffer(): one m-line per offered one, the first servable accepted."""
    accepted = 0
    lines = [
        "v=0",
        f"o=- {stream.session_id} {stream.version} IN IP4 0.0.0.0",
        f"s={stream.name}",
        f"c=IN IP4 {stream.address}/{stream.ttl}",
        "t=0 0",
    ]
    for m in parse_sdp(text):
        common = [(pt, fmt) for pt, fmt in stream.formats
                  if any(o is not None and same_encoding(o, fmt) for _, o in m["formats"])]
        servable = (accepted == 0 and m["port"] != 0 and RTP_PROTOCOL.match(m["protocol"])
                    and m["direction"] != "sendonly" and common)
        if not servable:
            tokens = [t for t in m["tokens"] if re.fullmatch(r"[A-Za-z0-9._/-]{1,32}", t)]
            lines.append(f"m={m['type']} 0 {m['protocol']} {' '.join(tokens) or '0'}")
            continue
        accepted += 1
        lines.append(f"m={m['type']} {stream.port} RTP/AVP {' '.join(str(pt) for pt, _ in common)}")
        for pt, (encoding, rate, channels) in common:
            suffix = f"/{channels}" if channels else ""
            lines.append(f"a=rtpmap:{pt} {encoding}/{rate}{suffix}")
        lines.append("a=inactive" if m["direction"] == "inactive" else "a=sendonly")
    return "\r\n".join(lines) + "\r\n", accepted


def problem_response(problem, path):
    body = {"type": "about:blank", "title": problem.title, "status": problem.status,
            "detail": problem.detail, "instance": path}
    return web.Response(status=problem.status, text=json.dumps(body),
                        content_type="application/problem+json")


def make_app(stream):
    async def offer(request):
        try:
            if request.content_type not in ("application/sdp", "application/json"):
                raise Problem(415, "Unsupported Media Type", "Send application/sdp or application/json")
            if request.content_length is not None and request.content_length > MAX_SDP_BYTES:
                raise Problem(413, "Content Too Large", "Request body is larger than the limit")
            body = await request.content.read(MAX_SDP_BYTES + 1)
            if len(body) > MAX_SDP_BYTES:
                raise Problem(413, "Content Too Large", "Request body is larger than the limit")
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise Problem(400, "Bad Request", "Request body is not valid UTF-8")
            if not text.strip():
                raise Problem(400, "Bad Request", "Request body is empty: expected an SDP offer")
            form = "sdp"
            if request.content_type == "application/json":
                form = "json"
                try:
                    text = json.loads(text)["sdp"]
                except (ValueError, KeyError, TypeError):
                    raise Problem(400, "Bad Request", 'Expected {"type":"offer","sdp":"..."}')
            sdp, accepted = answer_offer(text, stream)
            if accepted == 0:
                raise Problem(406, "Not Acceptable", f'No offered media can be served by "{stream.name}"')
            if form == "json":
                return web.json_response({"type": "answer", "sdp": sdp})
            return web.Response(text=sdp, content_type="application/sdp")
        except Problem as problem:
            return problem_response(problem, request.path)

    app = web.Application(client_max_size=MAX_SDP_BYTES + 1)
    app.router.add_post("/offer", offer)
    return app


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8082)
    args = parser.parse_args()
    stream = Stream("default", "239.0.0.1", 5004, 1, [(33, ("MP2T", 90000, None))])
    web.run_app(make_app(stream), host="127.0.0.1", port=args.port, access_log=None,
                print=lambda text: print(text, flush=True))


if __name__ == "__main__":
    main()
