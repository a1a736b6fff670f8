"""Entry point of `python -m bench`."""

import os
import sys
from pathlib import Path

# moto reads where its request recorder writes once, when first imported: point it into build/ before that happens.
os.environ.setdefault(
    "MOTO_RECORDER_FILEPATH", str(Path(__file__).resolve().parent.parent / "build" / "bench" / "moto-recording.jsonl")
)

from bench.run import main

sys.exit(main())
