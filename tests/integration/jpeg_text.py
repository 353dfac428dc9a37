#!/usr/bin/env python3
"""jpeg_text.py FILE FRAME TEXT: put a comment (COM) and an Exif segment
(APP1), each holding TEXT, after the start of image of the FRAME-th (from 1)
fragment of FILE's encapsulated Pixel Data, in place, as cameras, scanners
and some archives leave them. The file must be explicit VR little endian
with one fragment a frame (what dcmcjpeg writes)."""
import struct
import sys

path, frame, text = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
data = bytearray(open(path, "rb").read())
at = data.rfind(b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff")
assert at > 0, "no encapsulated Pixel Data"
at += 12
tag, n = struct.unpack_from("<II", data, at)  # the basic offset table
assert tag == 0xE000FFFE
table_at, table_n = at + 8, n
at += 8 + n
for _ in range(frame - 1):
    tag, n = struct.unpack_from("<II", data, at)
    at += 8 + n
tag, n = struct.unpack_from("<II", data, at)
assert tag == 0xE000FFFE and data[at + 8:at + 10] == b"\xff\xd8", "no JPEG fragment there"


def segment(marker, body):
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


extra = segment(0xFE, text) + segment(0xE1, b"Exif\0\0" + text)
if len(extra) % 2:
    extra = segment(0xFE, text + b" ") + segment(0xE1, b"Exif\0\0" + text)
data[at + 10:at + 10] = extra
struct.pack_into("<I", data, at + 4, n + len(extra))
# the offsets of the frames after this one move too
for i in range(frame, table_n // 4):
    off, = struct.unpack_from("<I", data, table_at + 4 * i)
    struct.pack_into("<I", data, table_at + 4 * i, off + len(extra))
open(path, "wb").write(data)
