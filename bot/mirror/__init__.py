"""Stage 0: a local git mirror of kernel releases made from Debian's packages."""
