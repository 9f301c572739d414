"""critmin benchmarks: scale generator, timing harness and peers (see benchmarks/README.md); not part of the library."""
