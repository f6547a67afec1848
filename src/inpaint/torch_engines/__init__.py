"""The search's engines on eager PyTorch, on the torch side of the layers (docs/LAYERS.md).

eager.TorchEngine runs G and D with autograd on host arrays: the reference the exported graphs
must match, and --backend torch. device.TorchDeviceEngine does the same on the GPU runtime's
DeviceArrays (the networks of --backend gpu where TensorRT is missing). Both implement
inpaint.runtime.engines.Engine and take their critic from inpaint.train.search_objective.
"""
