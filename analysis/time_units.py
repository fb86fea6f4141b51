"""How a time column may be written: the units and their length in seconds (no numpy, so the
command line can offer them without importing the analysis)."""

#: Time units of a time column, as seconds per unit.
TIME_UNITS_S = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
