"""The ``wasm-server`` command."""
