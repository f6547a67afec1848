"""The torch-free completion runtime."""
