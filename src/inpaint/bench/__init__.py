"""inpaint-bench: latency of the search on every backend, against the eager PyTorch yardstick."""
