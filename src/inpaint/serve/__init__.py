"""inpaint-rt serve: the completion runtime as an HTTP service with a web page."""
