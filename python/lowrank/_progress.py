"""Progress callbacks: the C++ library's ProgressEvent arrives as a dict
(stage, iteration, objective, change, elapsed_s, rank) once per iteration,
with the GIL held; Ctrl-C is checked at the same moment."""
from __future__ import annotations

import sys


class _Progress:
    """Combines an optional user callback and, when verbose, a tqdm bar on stderr."""

    def __init__(self, verbose: bool, callback, desc: str):
        self.callback = callback
        self.bar = None
        if verbose:
            try:
                from tqdm import tqdm
            except ImportError:  # pragma: no cover - python3-tqdm is a dependency
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(desc=desc, unit="it", file=sys.stderr, leave=True)

    def __call__(self, event: dict) -> None:
        if self.bar is not None:
            self.bar.update(1)
            post = {"stage": event["stage"], "obj": f"{event['objective']:.5g}"}
            if event["rank"] >= 0:
                post["rank"] = event["rank"]
            self.bar.set_postfix(post, refresh=False)
        if self.callback is not None:
            self.callback(event)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def active(self):
        """What to hand to the C++ side: None when nothing listens (the bridge
        still polls Ctrl-C once per iteration either way)."""
        return self if (self.bar is not None or self.callback is not None) else None
