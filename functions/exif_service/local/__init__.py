"""The local runtime: an embedded AWS emulator (moto's server) and its persistence."""
