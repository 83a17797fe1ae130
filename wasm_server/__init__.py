"""wasm-server: a server runtime for web services compiled to WebAssembly."""

__version__ = "0.1.0"
__all__ = ["__version__"]
