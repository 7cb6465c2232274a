"""The ``response`` report: photon transfer curves, linearity residuals, the figures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .response_fit import QUANT_VAR_DN2

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["draw_response"]


def draw_response(fig: Figure, fits: Sequence[Any], est: Mapping[str, Any], why: str) -> None:
    axs = fig.subplots(1, 3, width_ratios=[1.2, 1.0, 0.8])
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]
    for i, f in enumerate(fits):
        c = colors[i % len(colors)]
        mu = np.array([p.mean_dn for p in f.points]) - f.dark_offset_dn
        var = np.array([p.var_dn2 for p in f.points])
        used = np.array(f.ptc_used)
        ax = axs[0]
        ax.loglog(mu[used], var[used], "o", color=c, label=f"{f.gain_db:g} dB")
        ax.loglog(mu[~used & (mu > 0)], var[~used & (mu > 0)], "x", color=c, alpha=0.5)
        x = np.geomspace(max(mu[mu > 0].min(), 1e-1), mu.max(), 100)
        ax.loglog(x, f.gain_dn_per_e * x + (f.gain_dn_per_e * f.dark_noise_e) ** 2
                  + QUANT_VAR_DN2, "-", color=c, lw=1)
        t = np.array([p.exposure_s for p in f.points])
        lin = np.array(f.lin_used)
        slope = np.polyfit(t[lin], mu[lin], 1)[0]
        axs[1].plot(mu[lin] / f.clip_dn * 100, 100 * (mu[lin] / (slope * t[lin]) - 1), "o-",
                    color=c, label=f"{f.gain_db:g} dB: LE {f.linearity_error_pct:.2f} %")
    lows = [min(p.var_dn2 for p, u in zip(f.points, f.ptc_used) if u) for f in fits]
    axs[0].set_ylim(bottom=0.5 * min(lows))
    axs[0].set(xlabel="mean signal above offset (DN)", ylabel="temporal variance (DN²)",
               title="photon transfer (o fitted, x left out)")
    axs[0].legend(title="gain")
    axs[0].grid(True, which="both", alpha=0.3)
    axs[1].axhline(0, color="k", lw=0.8)
    axs[1].set(xlabel="signal (% of clip)", ylabel="deviation from straight line (%)",
               title="linearity")
    axs[1].legend(fontsize=8)
    axs[1].grid(True, alpha=0.3)
    _table(axs[2], fits, est, why)


def _table(ax: Any, fits: Sequence[Any], est: Mapping[str, Any], why: str) -> None:
    ax.axis("off")
    lines = ["gain   K (DN/e⁻)   σd (e⁻)   sat (e⁻)"]
    for f in fits:
        lines.append(f"{f.gain_db:4g} dB  {f.gain_dn_per_e:8.4f}  {f.dark_noise_e:7.2f}  "
                     f"{f.saturation_e:8.0f}")
    lines += ["", "written to the lane config:",
              f"K₀ = {est['gain_dn_per_e_0db']:.4f} DN/e⁻ (0 dB)",
              f"dark noise = {est['dark_noise_e']:.2f} e⁻",
              f"saturation = {est['saturation_e_0db']:.0f} e⁻ (0 dB)"]
    ax.text(0, 1, "\n".join(lines), family="monospace", va="top", fontsize=9,
            transform=ax.transAxes)
    import textwrap

    ax.text(0, 0, textwrap.fill(why, 40), va="bottom", fontsize=8, transform=ax.transAxes)
