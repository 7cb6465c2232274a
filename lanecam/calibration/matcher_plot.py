"""The ``matcher`` report: score distributions with the threshold, the FMR/FNMR trade-off
with its upper bounds, per-group rates."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .matcher_fit import binomial_upper

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["draw_matcher"]


def draw_matcher(fig: Figure, imp: Sequence[float], gen: Sequence[float], fit: Any,
                 groups: Mapping[str, Any], why: str) -> None:
    ax_h, ax_r = fig.subplots(1, 2)
    allv = np.concatenate([np.asarray(imp), np.asarray(gen)])
    bins = np.linspace(float(allv.min()) - 0.02, float(allv.max()) + 0.02, 40)
    ax_h.hist(imp, bins=bins, alpha=0.6, color="tab:red", label=f"impostor pairs ({len(imp)})")
    ax_h.hist(gen, bins=bins, alpha=0.6, color="tab:green", label=f"genuine pairs ({len(gen)})")
    ax_h.axvline(fit.threshold, color="k", lw=2,
                 label=f"threshold {fit.threshold:.3f} (distance {1 - fit.threshold:.3f})")
    ax_h.set(xlabel="similarity (1 − dlib distance)", ylabel="pairs",
             title="who scores where")
    ax_h.legend(fontsize=8)
    ts = np.linspace(bins[0], bins[-1], 200)
    imp_a, gen_a = np.asarray(imp), np.asarray(gen)
    n = imp_a.size
    fmr = [(imp_a >= t).mean() for t in ts]
    upper = [binomial_upper(int((imp_a >= t).sum()), n, 0.95) for t in ts]
    fnmr = [(gen_a < t).mean() if gen_a.size else np.nan for t in ts]
    ax_r.semilogy(ts, np.maximum(fmr, 1e-6), color="tab:red", label="FMR (sample)")
    ax_r.semilogy(ts, upper, color="tab:red", ls="--", label="FMR upper bound (95 %)")
    ax_r.semilogy(ts, np.maximum(fnmr, 1e-6), color="tab:green", label="FNMR (sample)")
    ax_r.axhline(fit.target_fmr, color="tab:orange", ls=":", label=f"target {fit.target_fmr:g}")
    ax_r.axvline(fit.threshold, color="k", lw=1)
    for g, r in groups.items():
        ax_r.plot([fit.threshold], [max(r["fmr_upper"], 1e-6)], "v", label=f"{g}: FMR ≤ "
                  f"{r['fmr_upper']:.2g}, FNMR {r['fnmr']:.2f}")
    ax_r.set(xlabel="similarity threshold", ylabel="rate", ylim=(1e-5, 1.5),
             title="error rates against the threshold")
    ax_r.legend(fontsize=7)
    ax_r.grid(True, which="both", alpha=0.3)
    fig.suptitle(textwrap.fill(why, 120), fontsize=9)
