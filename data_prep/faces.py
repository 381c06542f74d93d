#!/usr/bin/env python
"""Prepare the rendered morphable faces into data/faces/ (DC-IGN, Kulkarni et al. 2015 §4.1).

Mesh: the MediaPipe canonical face mesh from npm @mediapipe/face_mesh@0.4.1657299874
(Apache-2.0), fetched with `npm pack` (never installed) and checked against pinned SHA-256s;
or your Basel Face Model 2009 file with --bfm. Writes face_model.npz, the fixed test batches
(test_batches_<profile>.npz, uint8), the 48x48 "rendered faces (stand-in for TFD)" set
(flat_faces_<profile>.npz) and manifest.json; sizes come from genrepro.profiles TABLE["faces"].

    python data_prep/faces.py [--profile quick|full] [--bfm 01_MorphableModel.mat]
                              [--source PACKAGE.tgz|DIR] [--out DIR] [--device cuda] [--threads N]
"""

import argparse
import sys

import torch

from genrepro.data import DataError, faces_prep, run_prepare


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="quick", choices=["quick", "full"])
    ap.add_argument("--bfm", help="Basel Face Model 2009 01_MorphableModel.mat (used instead of MediaPipe)")
    ap.add_argument("--source", help="the npm package .tgz, or a folder with its .data and loader .js")
    ap.add_argument("--out", help="output folder (default: data/faces)")
    ap.add_argument("--device", default=None, help="torch device to render on (default: cpu)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (default 1: the renderer runs many mid-sized torch ops, "
                         "and with 2 threads on a busy 2-core machine their OpenMP barriers stall; "
                         "measured 27 s with 1 thread vs 113 s with 2 for the quick profile)")
    args = ap.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    return run_prepare(lambda: faces_prep.prepare(args.profile, out=args.out, bfm=args.bfm,
                                                  source=args.source, device=args.device),
                       errors=(DataError, ValueError))


if __name__ == "__main__":
    sys.exit(main())
