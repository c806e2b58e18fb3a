"""BG/NBD and Gamma-Gamma (runner/metrics/btyd.py): fit and prediction time, parameter recovery.

Run with the project's virtualenv::

    python bench/clv_fit.py [--sizes 1e5 1e6] [--repeats N] [--seed S] [--with-lifetimes]
                            [--out bench/results/clv_fit.json]

Per size, customers are drawn from the BG/NBD generative process with CDNOW's published
parameters (r = 0.243, α = 4.414 weeks, a = 0.793, b = 2.426) and spends from the
Gamma-Gamma model with p = 6.25, q = 3.74, γ = 15.44 (``btyd.simulate_bgnbd`` and
``simulate_gamma_gamma``). Each customer's first purchase falls on a whole day of the 65
weeks (455 days) before the as-of day, so T takes 455 distinct values in weeks, as in a
warehouse's daily data; recency is continuous.

Timed, each ``--repeats`` times (median reported, all samples kept), in one process:

- ``fit_bgnbd`` (unit weeks) and ``fit_gamma_gamma`` (on the customers with a repeat
  purchase), including the Hessian for the standard errors and convergence checks;
- ``expected_purchases`` over 52 weeks, ``p_alive``, and ``expected_clv`` over 12 months
  of 30 days at 10 % a year (13 evaluations of eq. 10 per customer: 0, 30, ..., 360 days);
- ``predict_clv`` (the three above together for a 365-day horizon).

Parameter recovery: fitted values against the true ones, as relative error and in
standard errors ((fitted − true) / standard error; about N(0, 1) if the fit and its
standard errors are right).

``--with-lifetimes`` also times ``lifetimes`` 0.11.3 (the ``[test]`` extra installs it) on
the same data, once per size: ``BetaGeoFitter.fit``, ``GammaGammaFitter.fit`` and its
``conditional_expected_number_of_purchases_up_to_time``, as a reference point.

Results go to ``--out`` (a size not run keeps its previous entry); see bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from runner.metrics import btyd  # noqa: E402

DEFAULT_OUT = HERE / "results" / "clv_fit.json"
TRUE_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
TRUE_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}
FIRST_PURCHASE_DAYS = (91, 546)  # T from 13 to 78 weeks, on whole days


def simulate(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    big_t = rng.integers(*FIRST_PURCHASE_DAYS, size=n) / 7.0
    x, t_x, big_t = btyd.simulate_bgnbd(n, **TRUE_BGNBD, T=big_t, rng=rng)
    m = btyd.simulate_gamma_gamma(x, **TRUE_GAMMA_GAMMA, rng=rng)
    return {"x": x, "t_x": t_x, "T": big_t, "m": m}


def timed(repeats: int, call: Callable[[], Any]) -> tuple[dict[str, Any], Any]:
    samples, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = call()
        samples.append(time.perf_counter() - started)
    return {"median_s": statistics.median(samples), "samples_s": samples}, result


def recovery(fitted: dict[str, float], errors: dict[str, float], truth: dict[str, float]):
    return {
        name: {
            "true": true,
            "fitted": fitted[name],
            "std_error": errors[name],
            "relative_error": (fitted[name] - true) / true,
            "z": (fitted[name] - true) / errors[name],
        }
        for name, true in truth.items()
    }


def run_size(n: int, repeats: int, seed: int, with_lifetimes: bool) -> dict[str, Any]:
    data = simulate(n, seed)
    x, t_x, big_t, m = data["x"], data["t_x"], data["T"], data["m"]
    args = (x, t_x, big_t)
    entry: dict[str, Any] = {
        "customers": n,
        "repeat_customers": int((x > 0).sum()),
        "distinct_T": int(np.unique(big_t).size),
        "mean_frequency": float(x.mean()),
        "max_frequency": int(x.max()),
    }
    fit_bg, bg = timed(repeats, lambda: btyd.fit_bgnbd(*args, unit="W"))
    fit_gg, gg = timed(repeats, lambda: btyd.fit_gamma_gamma(x, m))
    fit_bg.update(iterations=bg.iterations, log_likelihood=bg.log_likelihood)
    fit_gg.update(iterations=gg.iterations, log_likelihood=gg.log_likelihood)
    entry["timings"] = {
        "fit_bgnbd": fit_bg,
        "fit_gamma_gamma": fit_gg,
        "expected_purchases_52w": timed(repeats, lambda: bg.expected_purchases(52, *args))[0],
        "p_alive": timed(repeats, lambda: bg.p_alive(*args))[0],
        "expected_clv_12m": timed(
            repeats,
            lambda: btyd.expected_clv(bg, gg, *args, m, months=12, annual_discount_rate=0.10),
        )[0],
        "predict_clv_365d": timed(
            repeats,
            lambda: btyd.predict_clv(bg, gg, *args, m, horizon_days=365, annual_discount_rate=0.10),
        )[0],
    }
    entry["recovery"] = {
        "bgnbd": recovery(bg.params, bg.standard_errors, TRUE_BGNBD),
        "gamma_gamma": recovery(gg.params, gg.standard_errors, TRUE_GAMMA_GAMMA),
    }
    if with_lifetimes:
        entry["lifetimes"] = lifetimes_reference(x, t_x, big_t, m)
    return entry


def lifetimes_reference(x, t_x, big_t, m) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter, GammaGammaFitter

        out: dict[str, Any] = {"version": metadata.version("lifetimes")}
        started = time.perf_counter()
        bg = BetaGeoFitter().fit(x, t_x, big_t)
        out["fit_bgnbd_s"] = time.perf_counter() - started
        started = time.perf_counter()
        gg = GammaGammaFitter().fit(x[x > 0], m[x > 0])
        out["fit_gamma_gamma_s"] = time.perf_counter() - started
        started = time.perf_counter()
        bg.conditional_expected_number_of_purchases_up_to_time(52, x, t_x, big_t)
        out["expected_purchases_52w_s"] = time.perf_counter() - started
        out["bgnbd"] = {k: float(v) for k, v in bg.params_.items()}
        out["gamma_gamma"] = {k: float(v) for k, v in gg.params_.items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e5, 1e6])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20050101)
    parser.add_argument("--with-lifetimes", action="store_true")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    options = parser.parse_args()

    previous: dict[str, Any] = {}
    if options.out.exists():
        previous = json.loads(options.out.read_text()).get("sizes", {})
    sizes = dict(previous)
    for size in options.sizes:
        n = int(size)
        print(f"{n:>9,} customers ...", flush=True)
        entry = run_size(n, options.repeats, options.seed, options.with_lifetimes)
        sizes[str(n)] = entry
        t = entry["timings"]
        print(
            f"{'':>9}  fit BG/NBD {t['fit_bgnbd']['median_s']:.2f} s "
            f"({t['fit_bgnbd']['iterations']} it), Gamma-Gamma "
            f"{t['fit_gamma_gamma']['median_s']:.2f} s, E[Y(52w)] "
            f"{t['expected_purchases_52w']['median_s']:.2f} s, CLV 12m "
            f"{t['expected_clv_12m']['median_s']:.2f} s",
            flush=True,
        )
        for model, params in entry["recovery"].items():
            shown = ", ".join(
                f"{k} {v['fitted']:.4g} ({v['relative_error']:+.2%}, z {v['z']:+.1f})"
                for k, v in params.items()
            )
            print(f"{'':>9}  {model}: {shown}", flush=True)
    result = {
        "benchmark": "clv_fit",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": metadata.version("scipy"),
        },
        "settings": {
            "repeats": options.repeats,
            "seed": options.seed,
            "true_bgnbd": TRUE_BGNBD,
            "true_gamma_gamma": TRUE_GAMMA_GAMMA,
            "first_purchase_days_before_as_of": list(FIRST_PURCHASE_DAYS),
            "unit": "W",
        },
        "sizes": dict(sorted(sizes.items(), key=lambda item: int(item[0]))),
    }
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {options.out}")


if __name__ == "__main__":
    main()
