"""The ``polarizer`` report: the glare found, the Malus fit, the analyzer before and after."""

from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["draw_polarizer"]


def draw_polarizer(fig: Figure, fit: Any, frame: np.ndarray, mask: np.ndarray,
                   amp: np.ndarray, old_offset: float, why: str) -> None:
    ax_img, ax_mod, ax_fit = fig.subplots(1, 3, width_ratios=[1.0, 1.0, 1.2])
    ax_img.imshow(frame, cmap="gray")
    ys, xs = np.nonzero(mask)
    if xs.size:
        pad = 20
        x0, x1, y0, y1 = xs.min() - pad, xs.max() + pad, ys.min() - pad, ys.max() + pad
        ax_img.plot([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0], "-", color="tab:red", lw=1)
        cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
        for ang, col, lab in ((fit.glare_axis_deg, "tab:red", "glare axis ψ"),
                              (fit.glare_axis_deg + 90, "tab:green", "analyzer now blocks")):
            t = math.radians(ang)
            ax_img.plot([cx - r * math.cos(t), cx + r * math.cos(t)],
                        [cy + r * math.sin(t), cy - r * math.sin(t)], color=col, lw=2,
                        label=lab)
        ax_img.legend(loc="lower left", fontsize=7)
    ax_img.set(title="brightest glare frame", xticks=[], yticks=[])
    ax_mod.imshow(amp, cmap="magma")
    ax_mod.contour(mask, levels=[0.5], colors="cyan", linewidths=0.8)
    ax_mod.set(title="Malus modulation (glare ROI in cyan)", xticks=[], yticks=[])
    r = np.asarray(fit.readings_deg)
    m = np.asarray(fit.roi_means)
    x = np.linspace(0, 180, 361)
    t = np.deg2rad(x)
    f = fit.fit
    ax_fit.plot(r, m, "o", label="glare ROI mean")
    ax_fit.plot(x, f.a + f.b * np.cos(2 * t) + f.c * np.sin(2 * t), "-", label="Malus fit")
    ax_fit.axvline(f.worst_angle_deg, color="tab:red", ls="--",
                   label=f"max glare at reading {f.worst_angle_deg:.1f}°")
    before = (fit.glare_axis_deg + 90 - old_offset) % 180
    after = (fit.glare_axis_deg + 90 - fit.offset_deg) % 180
    ax_fit.axvline(before, color="grey", ls=":", label=f"blocking reading, old offset: {before:.1f}°")
    ax_fit.axvline(after, color="tab:green", ls="-", label=f"blocking reading, new offset: {after:.1f}°")
    ax_fit.set(xlabel="mount reading (deg)", ylabel="glare (DN)", xlim=(0, 180),
               title=f"offset {fit.offset_deg:+.2f}° (was {old_offset:+.2f}°)")
    ax_fit.legend(fontsize=7)
    ax_fit.grid(True, alpha=0.3)
    fig.suptitle(textwrap.fill(why, 110), fontsize=9)
