"""Tools built on the system: the benchmark suite (`tools.bench`) and the synthetic
population generator (`tools.seed`). Above `infra` in the layers; the CLI calls them."""
