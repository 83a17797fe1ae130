"""Guest toolchain wrappers behind ``wasm-server cc`` and ``wasm-server cargo-build``."""
