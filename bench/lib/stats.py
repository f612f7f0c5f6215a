"""Alternating A/B measurement and its summary."""

import statistics
import time


def alternate(run_a, run_b, pairs, between=None):
    """Run A B A B ... ``pairs`` times. Each callable returns seconds (or None to time it
    here). Returns [(a, b)]. ``between`` is called before every single run (e.g. a reset)."""
    out = []
    for i in range(pairs):
        pair = []
        for fn in (run_a, run_b):
            if between:
                between(i, fn)
            t0 = time.perf_counter()
            value = fn()
            pair.append(value if value is not None else time.perf_counter() - t0)
        out.append(tuple(pair))
    return out


def summary(values):
    values = list(values)
    if not values:
        return {"n": 0, "median": None, "min": None, "max": None}
    return {"n": len(values), "median": statistics.median(values), "min": min(values), "max": max(values)}


def ratio_summary(pairs):
    """Per-pair ratio a/b, summarised; plus the medians of a and of b."""
    ratios = [a / b for a, b in pairs if b]
    return {"ratio": summary(ratios), "a": summary(p[0] for p in pairs), "b": summary(p[1] for p in pairs)}
