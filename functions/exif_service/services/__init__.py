"""Use cases: each module runs one thing a caller asks for, over the engine and the store."""
