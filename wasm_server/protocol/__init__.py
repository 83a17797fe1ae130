"""Sans-I/O protocol cores (no asyncio imports here)."""
