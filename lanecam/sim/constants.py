"""Every physical constant the simulator uses, each with its source.

``PQ §x`` cites ``physics_quality.md`` (the project's physics reference, section x), which in turn
names the public documents.  Values marked **ASSUMED** have no source there: they are modelling
choices, exposed as scenario or camera parameters so an integrator can replace them with
measurements of their own lane.
"""

from __future__ import annotations

# --- glass ---------------------------------------------------------------------------------
#: Refractive index of windshield glass (PQ §1.1: IES VE uses n = 1.52 for glass).
GLASS_INDEX = 1.52

# --- sunlight in the camera's band (PQ §2.2, ASTM G173-03 via pvlib, W/m²) --------------------
#: band name → (centre m, half width m, AM1.5 global W/m², direct W/m²)
SOLAR_BANDS: dict[str, tuple[float, float, float, float]] = {
    "850nm_10": (850e-9, 5e-9, 10.6, 9.8),
    "850nm_50": (850e-9, 25e-9, 49.1, 45.6),
    "940nm_10": (940e-9, 5e-9, 3.4, 3.2),
    "940nm_50": (940e-9, 25e-9, 22.8, 21.5),
}
#: The G173 direct value is normal-incidence irradiance at air mass 1.5; the simulator uses it for
#: every sun elevation above 0° (ASSUMED: no air-mass dependence, PQ §2.2 gives AM1.5 only) and
#: applies the surface cosine.  Diffuse = global − direct (G173 "global tilt" − "direct").
#: ASSUMED: curved windshields spread the sun's mirror image; the glint is a Gaussian lobe of
#: this σ (energy-preserving) instead of the 0.27°-radius solar disc.
SUN_GLINT_SIGMA_DEG = 1.5
#: ASSUMED: overcast sky transmits this fraction of the clear-sky global irradiance, all diffuse.
OVERCAST_TRANSMITTANCE = 0.3
#: Sky polarization: Rayleigh DoP(γ) = P_max sin²γ / (1 + cos²γ), γ = angle from the sun;
#: P_max ≈ 0.8 is "typically reached" (PQ §1.3, questionai Rayleigh sky model); clouds and
#: overcast skies are unpolarized (PQ §1.3, atoptics).
SKY_DOP_MAX = 0.8

# --- reflectances in the NIR band (all ASSUMED: PQ has no NIR reflectance data) ---------------
ROAD_REFLECTANCE = 0.12
LANE_PAINT_REFLECTANCE = 0.55
#: Skin in NIR: texture grey level 255 ↔ this reflectance (textures use the red channel as an
#: NIR proxy, ASSUMED).
SKIN_REFLECTANCE_MAX = 0.6
CLOTHING_REFLECTANCE = 0.35
VERGE_REFLECTANCE = 0.35
HAIR_REFLECTANCE = 0.12
HAT_REFLECTANCE = 0.10
TRIM_REFLECTANCE = 0.05  # black A-pillar and roof-header trim
#: Hat: crown above this fraction of the face texture's height, its brim hides the face above
#: ``HAT_HIDES`` and shades (skylight halved, no sun) down to ``HAT_SHADE`` (ASSUMED shapes).
HAT_CROWN, HAT_HIDES, HAT_SHADE = 0.30, 0.33, 0.42
#: Sunglass lens: ellipse around each eye, semi-axes as fractions of the texture (ASSUMED).
SUNGLASS_LENS = (0.12, 0.075)
CABIN_REFLECTANCE = 0.08
BODY_PAINT_REFLECTANCE = 0.35
HEADLIGHT_REFLECTANCE = 0.55  # lens over chrome reflector (no emission modelled)
#: US plate 12 × 6 in (305 × 152 mm); retroreflective sheeting approximated as Lambertian.
PLATE_REFLECTANCE = 0.8
TYRE_REFLECTANCE = 0.05
#: Windshield internal NIR transmission (absorption/coating only; Fresnel losses are computed).
#: Quantitative T(850/940 nm) is NOT FOUND (PQ §2.1, §6) — ASSUMED values that keep the sourced
#: direction: Fe²⁺ glass transmits less at 940 than at 850 nm, solar-control (IR-reflective or
#: absorbing) glass much less than clear.
WINDSHIELD_NIR_TRANSMISSION: dict[str, dict[str, float]] = {
    "clear": {"850nm": 0.75, "940nm": 0.65},
    "solar_control": {"850nm": 0.25, "940nm": 0.15},
}
#: Side and rear windows (tempered, uncoated; PQ §1.2): ASSUMED like clear glass at 850 nm.
SIDE_GLASS_NIR_TRANSMISSION = 0.75
#: Side glass by tint → pane → band → internal NIR transmission (Fresnel losses computed).
#: Tempered soda-lime side glass (PQ §1.2).  US rules allow dark glass only behind the
#: B-pillar: FMVSS 205 (49 CFR 571.205, ANSI/SAE Z26.1 item AS-2) asks ≥ 70 % luminous
#: transmittance for glass "requisite for driving visibility", so the front doors stay clear;
#: factory privacy glass on the rear doors has a visible transmittance of 15–28 %
#: (https://engineerfix.com/what-is-privacy-glass-in-a-car-and-how-does-it-work).  Its NIR
#: transmission is NOT FOUND: ASSUMED 0.35 at 850 nm, 0.25 at 940 nm (iron-cobalt-selenium
#: grey glass darkens the visible more than the NIR, and Fe²⁺ absorbs more towards 1 µm);
#: "tinted" (a light green/grey body tint on every pane) ASSUMED 0.6 / 0.5; clear as
#: SIDE_GLASS_NIR_TRANSMISSION, 0.65 at 940 nm like a clear windshield (ASSUMED).
SIDE_GLASS_NIR: dict[str, dict[str, dict[str, float]]] = {
    "clear": {"front": {"850nm": 0.75, "940nm": 0.65}, "rear": {"850nm": 0.75, "940nm": 0.65}},
    "tinted": {"front": {"850nm": 0.6, "940nm": 0.5}, "rear": {"850nm": 0.6, "940nm": 0.5}},
    "privacy": {"front": {"850nm": 0.75, "940nm": 0.65},
                "rear": {"850nm": 0.35, "940nm": 0.25}},
}
#: Fresnel transmission of a window at moderate incidence: 1 − R_slab ≈ 0.9 (PQ §1.1 table,
#: R_slab 0.08–0.11 for 0–50°).
WINDOW_FRESNEL_T = 0.9
#: Sunglass lenses in NIR (ASSUMED; many tints pass NIR): applied twice (in and out).
SUNGLASS_NIR_TRANSMISSION = 0.35
#: Lambertian cloud albedo seen from below / the side (ASSUMED; PQ §1.3: clouds unpolarized).
CLOUD_ALBEDO = 0.6
#: Fraction of exterior diffuse irradiance reaching occupants' faces inside the cabin (ASSUMED).
CABIN_DIFFUSE_FRACTION = 0.35

# --- sensor (Sony Pregius 3.45 µm; PQ §3.2) ----------------------------------------------------
PIXEL_PITCH_M = 3.45e-6
SENSOR_WIDTH_PX = 2448
SENSOR_HEIGHT_PX = 2048
#: Saturation capacity ≈ 10^(SNR_max/10) e⁻ with SNR_max 40.3 dB, read noise ≈ FWC/10^(DR/20)
#: with DR 71.3 dB: IMX255 data sheet figures (same 3.45 µm Pregius pixel as IMX250) in the
#: Matrix Vision mvBlueFOX3 manual §20.7 (https://www.easymanua.ls/matrix/mvbluefox3/manual?p=861).
FULL_WELL_E = 10_700.0
READ_NOISE_E = 2.9
#: ASSUMED: QE at 850/940 nm is NOT FOUND in PQ §2.2 / §6; a Pregius-class front-side sensor.
QUANTUM_EFFICIENCY = {"850nm": 0.30, "940nm": 0.15}
#: ASSUMED: lens + filter transmission in band.
OPTICS_TRANSMISSION = 0.85
#: 12-bit ADC (IMX255/IMX250 "ADC resolution 12 bit", same manual).
ADC_BITS = 12
#: Polarizer extinction ratio default: PQ §1.5, official value NOT FOUND; 300:1 unverified;
#: "treat ER as a simulator parameter (sweep 50–500)".
EXTINCTION_RATIO = 300.0

# --- physics -------------------------------------------------------------------------------
PLANCK_J_S = 6.62607015e-34  # exact (SI 2019)
LIGHT_SPEED_M_S = 299_792_458.0  # exact (SI)
MPH_TO_MPS = 0.44704  # exact (1 mph = 1609.344 m / 3600 s)

# --- people and vehicles -------------------------------------------------------------------
#: Mean adult interpupillary distance 63 mm (PQ §3.2, Dodgson 2004).
IPD_M = 0.063
#: Face texture plane width, derived: the textures put the eyes 0.30 of the width apart, so
#: the plane is IPD / 0.30 wide.
FACE_PLANE_M = IPD_M / 0.30
#: Windshield rake, degrees from horizontal (PQ §1.2: installation angles 20–40°).
RAKE_RANGE_DEG = (20.0, 40.0)
#: Speeds covered by the issue (issue 5: "5–40 mph").
SPEED_RANGE_MPS = (5 * MPH_TO_MPS, 40 * MPH_TO_MPS)
