"""A seeded population of vehicles and travelers for the simulated lane (issue 16).

:mod:`.spec` reads the distributions (TOML; the documented default ships as ``default.toml``),
:mod:`.gallery` the identities, :mod:`.draw` draws vehicle ``i`` of seed ``S`` independently of
every other, :mod:`.scenes` turns a draw into a one-vehicle scenario, :mod:`.runner` runs the
production lane over each (local processes or Dask), :mod:`.report` scores and summarizes, and
:func:`.bench.bench_population` is ``lanecam bench --population``.
"""

from .draw import DrawnOccupant, DrawnVehicle, draw_population, draw_vehicle
from .gallery import Gallery, GalleryError, Identity, load_gallery, shipped_gallery
from .spec import PopulationSpec, default_spec_path, load_spec, parse_spec

__all__ = ["DrawnOccupant", "DrawnVehicle", "Gallery", "GalleryError", "Identity",
           "PopulationSpec", "default_spec_path", "draw_population", "draw_vehicle",
           "load_gallery", "load_spec", "parse_spec", "shipped_gallery"]
