"""repgeom: computation as transformation of representational geometries, as a workflow."""

__version__ = "0.1.0"
