"""Real series from statsmodels' bundled data sets (installed with statsmodels, no download).

- sunspots: yearly mean sunspot numbers 1700-2008 (309 values); the solar cycle lasts about 11 years.
- co2: weekly atmospheric CO2 at Mauna Loa, 1958-2001 (2,284 weeks, ppm); a yearly season on a trend.

Used in: chapter 06 (applications, through applications.sunspots_forecast).
"""
from __future__ import annotations

import numpy as np


def load_sunspots() -> tuple[np.ndarray, np.ndarray]:
    """Returns (years (309,) int64, sunspot numbers (309,) float64)."""
    from statsmodels.datasets import sunspots

    data = sunspots.load_pandas().data
    return data["YEAR"].to_numpy().astype(np.int64), data["SUNACTIVITY"].to_numpy(dtype=np.float64)


def load_co2() -> tuple[np.ndarray, np.ndarray]:
    """Returns (week dates (2284,) datetime64[D], CO2 in ppm (2284,) float64).

    The raw series misses 59 weeks; they are filled by linear interpolation in time.
    """
    from statsmodels.datasets import co2

    data = co2.load_pandas().data["co2"]
    values = data.interpolate(method="time").bfill().to_numpy(dtype=np.float64)
    return data.index.to_numpy().astype("datetime64[D]"), values
