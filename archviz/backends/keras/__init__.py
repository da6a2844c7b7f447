"""Keras 3: read a .keras file (no Keras needed), write a spec as a Keras module, verify with Keras."""
