"""The ``strobe`` report: the delay scan with its fit, and the pulse budget — the IEC 62471
limit at the measured irradiance against the controller's overdrive table."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .strobe_fit import iec_max_brightness, overdrive_max_brightness, overlap

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["draw_strobe"]


def draw_strobe(fig: Figure, fit: Any, delays: Sequence[float], means: Sequence[float],
                width: float, exposure: float, profile: Any, pulse: tuple[float, float, float, str],
                irradiance: float | None, why: str, view: tuple[np.ndarray, np.ndarray]
                ) -> None:
    ax_s, ax_i, ax_b = fig.subplots(1, 3, width_ratios=[1.2, 0.7, 1.1])
    ax_i.imshow(view[0], cmap="gray")
    ax_i.contour(view[1], levels=[0.5], colors="tab:orange", linewidths=0.6)
    ax_i.set(title="metered pixels", xticks=[], yticks=[])
    d = np.asarray(delays) * 1e6
    ax_s.plot(d, means, "o", label="lit pixels' mean")
    x = np.linspace(0, d.max(), 400)
    ax_s.plot(x, fit.ambient + fit.lamp_per_s * overlap(x / 1e6 + fit.latency_s, width, exposure),
              "-", label="pulse/exposure overlap fit")
    for edge, lab in ((-fit.latency_s, "pulse starts with the exposure"),
                      (exposure - width - fit.latency_s, "pulse ends with the exposure")):
        if 0 <= edge * 1e6 <= d.max():
            ax_s.axvline(edge * 1e6, ls=":", color="grey")
            ax_s.annotate(lab, (edge * 1e6, min(means)), rotation=90, fontsize=7,
                          va="bottom", ha="right")
    ax_s.set(xlabel="controller trigger delay (µs)", ylabel="brightness (DN)",
             title=f"delay scan ({exposure * 1e6:.0f} µs exposure, {width * 1e6:.0f} µs pulse)\n"
                   f"latency {fit.latency_s * 1e6:+.1f} µs")
    ax_s.legend(fontsize=8)
    ax_s.grid(True, alpha=0.3)
    _budget(ax_b, profile, pulse, irradiance)
    fig.suptitle(textwrap.fill(why, 120), fontsize=9)


def _budget(ax: Any, profile: Any, pulse: tuple[float, float, float, str],
            irradiance: float | None) -> None:
    w = np.geomspace(1e-5, 3e-2, 300)
    rate = pulse[2]
    table = [overdrive_max_brightness(profile, x, rate) for x in w]
    ax.step(w * 1e3, table, where="post", color="tab:blue", label="controller overdrive table")
    example = [iec_max_brightness(x, rate, profile.irradiance_w_m2) for x in w]
    ax.plot(w * 1e3, example, ls="--", color="grey",
            label=f"IEC 62471 at the profile's example {profile.irradiance_w_m2:g} W/m²")
    if irradiance is not None:
        iec = np.array([iec_max_brightness(x, rate, irradiance) for x in w])
        ax.plot(w * 1e3, iec, color="tab:red", lw=2,
                label=f"IEC 62471 at the measured {irradiance:g} W/m²")
        allowed = np.minimum(iec, table)
    else:
        allowed = np.minimum(table, 1.0)
        ax.text(0.02, 0.04, "not measured: held at rated current", color="tab:red",
                transform=ax.transAxes, fontsize=9)
    ax.fill_between(w * 1e3, 0, allowed, color="tab:green", alpha=0.15, label="allowed")
    ax.axhline(1.0, color="k", lw=0.8, ls=":")
    ax.plot([pulse[0] * 1e3], [pulse[1]], "k*", ms=12, label="the lane's pulse")
    ax.set(xscale="log", yscale="log", xlabel="pulse width (ms)",
           ylabel="× rated current", ylim=(0.05, 50),
           title=f"pulse budget at {rate:g} Hz ({profile.name})")
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(True, which="both", alpha=0.3)
