"""`omnitrax convert-darknet`: turn a Darknet YOLO model (.cfg + .weights) into one ONNX file."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "convert-darknet", help="convert a Darknet YOLO model (.cfg + .weights) to ONNX",
        description="Convert a Darknet YOLOv3/v4(-tiny) model to one ONNX file that OpenCV DNN and ONNX Runtime "
                    "run (on every device ONNX Runtime supports). The boxes are decoded inside the model.")
    p.add_argument("cfg", metavar="MODEL.cfg", help="the network's Darknet .cfg file")
    p.add_argument("weights", metavar="MODEL.weights", help="the .weights file trained with it")
    p.add_argument("out", metavar="OUT.onnx", help="the ONNX file to write")
    p.add_argument("--names", default=None, metavar="FILE",
                   help="class names, one per line, stored in the model (default: a .names file beside the cfg)")
    p.add_argument("--size", type=int, nargs=2, default=None, metavar=("W", "H"),
                   help="network input size in pixels, multiples of 32 (default: the cfg's width and height)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..detection.darknet_onnx import convert

    print(convert(args.cfg, args.weights, args.out, names_path=args.names, size=args.size).summary())
    return 0
