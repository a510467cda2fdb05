"""Pure manifest builders: values in, one manifest dict out; no I/O, no environment."""
