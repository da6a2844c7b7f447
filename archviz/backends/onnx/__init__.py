"""ONNX: read a model file into archviz's layers, write a spec as a model, verify in ONNX Runtime.

The reader needs no ``onnx`` install (:mod:`archviz.backends.onnx.proto`); the writer needs
``onnx`` and the verifier ``onnxruntime`` (``pip install 'archviz[onnx]'``).
"""
