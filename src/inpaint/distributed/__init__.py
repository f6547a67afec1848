"""Completion beyond one process: a folder of images on a Ray cluster."""
from inpaint.distributed.ray_complete import complete_dataset

__all__ = ["complete_dataset"]
