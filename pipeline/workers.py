"""One rule for every worker process PaperVoice starts (scanning pages, preparing export crops).

The pool already keeps every core busy, so each worker must not start threads of its own: OpenCV,
OpenMP (tesseract) and BLAS would otherwise each start one per core in every worker.
"""

from __future__ import annotations

import os


def limit_worker_threads() -> None:
    """Call first thing in a worker process (as the pool's initializer, or before work done inline)."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    os.environ["OMP_NUM_THREADS"] = "1"
    import cv2

    cv2.setNumThreads(1)
