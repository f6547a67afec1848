"""Semantic image inpainting with a DCGAN prior."""

__version__ = "0.1.0"
