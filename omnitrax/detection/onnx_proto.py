"""ONNX files without the `onnx` package: write a model, read back its metadata and input shape.

Blender's Python has no `onnx`, so the Darknet converter writes the protobuf itself and the YOLO
detector reads what it needs (metadata_props, the first input's shape) the same way. Only the fields
of onnx.proto that OmniTrax uses are known here; readers skip every other field.

Field numbers (onnx.proto, proto2): ModelProto ir_version=1 producer_name=2 producer_version=3
graph=7 opset_import=8 metadata_props=14; GraphProto node=1 name=2 initializer=5 input=11 output=12;
NodeProto input=1 output=2 name=3 op_type=4 attribute=5; AttributeProto name=1 f=2 i=3 s=4 t=5
floats=7 ints=8 type=20; TensorProto dims=1 data_type=2 name=8 raw_data=9; ValueInfoProto name=1
type=2; TypeProto tensor_type=1; TypeProto.Tensor elem_type=1 shape=2; TensorShapeProto dim=1;
Dimension dim_value=1 dim_param=2; OperatorSetIdProto domain=1 version=2; StringStringEntryProto
key=1 value=2.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from ..errors import OmniTraxError

FLOAT, INT64 = 1, 7  # TensorProto.DataType
_DTYPES = {np.dtype(np.float32): FLOAT, np.dtype(np.int64): INT64}
_ATTR_FLOAT, _ATTR_INT, _ATTR_STRING, _ATTR_TENSOR, _ATTR_FLOATS, _ATTR_INTS = 1, 2, 3, 4, 6, 7
IR_VERSION = 7  # the IR version that goes with opset 13

_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5


# ------------------------------------------------------------------------------------------ writing
def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int64 values are written as 10-byte two's complement
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _int(field: int, n: int) -> bytes:
    return _varint(field << 3 | _VARINT) + _varint(int(n))


def _length(field: int, size: int) -> bytes:
    """The key and length that start a length-delimited field of `size` bytes."""
    return _varint(field << 3 | _LEN) + _varint(size)


def _bytes(field: int, payload: bytes) -> bytes:
    return _length(field, len(payload)) + payload


def _str(field: int, text: str) -> bytes:
    return _bytes(field, text.encode("utf-8"))


def _float(field: int, value: float) -> bytes:
    return _varint(field << 3 | _FIXED32) + struct.pack("<f", value)


def tensor(name: str, array) -> bytes:
    """A TensorProto (float32 or int64) holding `array` as little-endian raw data."""
    array = np.asarray(array)
    if array.dtype not in _DTYPES:
        array = array.astype(np.int64 if np.issubdtype(array.dtype, np.integer) else np.float32)
    raw = np.ascontiguousarray(array, array.dtype.newbyteorder("<")).tobytes()
    head = [_int(1, d) for d in array.shape] + [_int(2, _DTYPES[array.dtype]), _str(8, name), _length(9, len(raw))]
    return b"".join(head + [raw])


def _attribute(name: str, value) -> bytes:
    head = _str(1, name)
    if isinstance(value, bool) or isinstance(value, (int, np.integer)):
        return head + _int(3, value) + _int(20, _ATTR_INT)
    if isinstance(value, float):
        return head + _float(2, value) + _int(20, _ATTR_FLOAT)
    if isinstance(value, str):
        return head + _str(4, value) + _int(20, _ATTR_STRING)
    if isinstance(value, np.ndarray):
        return head + _bytes(5, tensor("", value)) + _int(20, _ATTR_TENSOR)
    values = list(value)
    if values and all(isinstance(v, float) for v in values):
        return head + b"".join(_float(7, v) for v in values) + _int(20, _ATTR_FLOATS)
    return head + b"".join(_int(8, v) for v in values) + _int(20, _ATTR_INTS)


def node(op_type: str, inputs, outputs, name: str = "", **attributes) -> bytes:
    """A NodeProto; attributes are int, float, str, a numpy array (tensor) or a list of ints/floats."""
    parts = [_str(1, i) for i in inputs] + [_str(2, o) for o in outputs]
    parts += [_str(3, name or outputs[0]), _str(4, op_type)]
    parts += [_bytes(5, _attribute(k, v)) for k, v in attributes.items()]
    return b"".join(parts)


def value_info(name: str, shape, elem_type: int = FLOAT) -> bytes:
    """A ValueInfoProto of a tensor; each dim an int (fixed), a str (named, free) or None (unknown)."""
    dims = []
    for d in shape:
        dims.append(_bytes(1, b"" if d is None else _str(2, d) if isinstance(d, str) else _int(1, d)))
    tensor_type = _int(1, elem_type) + _bytes(2, b"".join(dims))
    return _str(1, name) + _bytes(2, _bytes(1, tensor_type))


def model_parts(nodes, initializers, inputs, outputs, *, opset: int = 13, name: str = "graph",
                producer: str = "OmniTrax", metadata: dict | None = None) -> list[bytes]:
    """A ModelProto as byte strings to write one after the other (big weights are not copied again);
    nodes/initializers/inputs/outputs are the byte strings made above."""
    graph = [_length(1, len(n)) for n in nodes]
    graph = [piece for pair in zip(graph, nodes) for piece in pair] + [_str(2, name)]
    for t in initializers:
        graph += [_length(5, len(t)), t]
    graph += [_bytes(11, v) for v in inputs] + [_bytes(12, v) for v in outputs]
    head = [_int(1, IR_VERSION), _str(2, producer), _length(7, sum(map(len, graph)))]
    tail = [_bytes(8, _str(1, "") + _int(2, opset))]
    tail += [_bytes(14, _str(1, key) + _str(2, value)) for key, value in (metadata or {}).items()]
    return head + graph + tail


def model(nodes, initializers, inputs, outputs, **options) -> bytes:
    """A serialized ModelProto (see model_parts for the arguments)."""
    return b"".join(model_parts(nodes, initializers, inputs, outputs, **options))


# ------------------------------------------------------------------------------------------ reading
class _NotProtobuf(ValueError):
    pass


def _read_varint(buf, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise _NotProtobuf("a number runs past its message")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf, start: int = 0, end: int | None = None):
    """(field number, wire type, value) of one message: an int for varints, a (start, end) span for
    length-delimited fields, the raw bytes for fixed-size ones."""
    pos, end = start, len(buf) if end is None else end
    while pos < end:
        key, pos = _read_varint(buf, pos, end)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise _NotProtobuf("field number 0")
        if wire == _VARINT:
            value, pos = _read_varint(buf, pos, end)
        elif wire == _LEN:
            size, pos = _read_varint(buf, pos, end)
            if pos + size > end:
                raise _NotProtobuf("a field runs past the end")
            value, pos = (pos, pos + size), pos + size
        elif wire in (_FIXED64, _FIXED32):
            size = 8 if wire == _FIXED64 else 4
            if pos + size > end:
                raise _NotProtobuf("a field runs past the end")
            value, pos = bytes(buf[pos:pos + size]), pos + size
        else:
            raise _NotProtobuf(f"wire type {wire}")
        yield field, wire, value


def _submessages(buf, span, field: int, wire: int = _LEN):
    for f, w, value in _fields(buf, *span):
        if f == field:
            if w != wire:
                raise _NotProtobuf(f"field {field} has wire type {w}")
            yield value


def _text(buf, span) -> str:
    return bytes(buf[span[0]:span[1]]).decode("utf-8", "replace")


def _load(path) -> tuple[bytes, tuple[int, int] | None, dict[str, str]]:
    """(file bytes, span of the graph, metadata), or a one-line OmniTraxError."""
    path = Path(path)
    if not path.is_file():
        raise OmniTraxError(f"Cannot open ONNX model '{path}': file not found. Check the path.")
    try:
        buf = path.read_bytes()
    except OSError as exc:
        raise OmniTraxError(f"Cannot read ONNX model '{path}': {exc.strerror or exc}.") from None
    graph, metadata, ir_version = None, {}, None
    try:
        for field, wire, value in _fields(buf):
            if field in (1, 7, 14) and wire != (_VARINT if field == 1 else _LEN):
                raise _NotProtobuf(f"field {field} has wire type {wire}")
            if field == 1:
                ir_version = value
            elif field == 7:
                graph = value
            elif field == 14:
                entry = {f: _text(buf, v) for f, w, v in _fields(buf, *value) if w == _LEN}
                metadata[entry.get(1, "")] = entry.get(2, "")
    except _NotProtobuf as exc:
        raise OmniTraxError(f"'{path.name}' is not an ONNX model (it does not read as one: {exc}). Choose an "
                            f".onnx file exported from your network.") from None
    if graph is None or ir_version is None:
        raise OmniTraxError(f"'{path.name}' is not an ONNX model (it holds no graph). Choose an .onnx file "
                            f"exported from your network.")
    return buf, graph, metadata


def read_metadata(path) -> dict[str, str]:
    """The model's metadata_props as a dict (empty when it has none)."""
    return _load(path)[2]


def read_input_shape(path) -> tuple:
    """Shape of the graph's first input that is not an initializer: ints, names of free dims, or None."""
    buf, graph, _ = _load(path)
    try:
        initializers = set()
        for span in _submessages(buf, graph, 5):
            initializers |= {_text(buf, v) for f, w, v in _fields(buf, *span) if f == 8 and w == _LEN}
        for span in _submessages(buf, graph, 11):
            info = {f: v for f, w, v in _fields(buf, *span) if w == _LEN}
            if 1 in info and _text(buf, info[1]) in initializers:
                continue
            return _shape(buf, info.get(2))
    except _NotProtobuf as exc:
        raise OmniTraxError(f"'{Path(path).name}' is a damaged ONNX model ({exc}); export it again.") from None
    raise OmniTraxError(f"'{Path(path).name}' has no input: it is not a network OmniTrax can run.")


def _shape(buf, type_span) -> tuple:
    if type_span is None:
        return ()
    for tensor_type in _submessages(buf, type_span, 1):
        for shape in _submessages(buf, tensor_type, 2):
            dims = []
            for dim in _submessages(buf, shape, 1):
                value = None
                for f, w, v in _fields(buf, *dim):
                    value = v if (f, w) == (1, _VARINT) else _text(buf, v) if (f, w) == (2, _LEN) else value
                dims.append(value)
            return tuple(dims)
    return ()
